// Messages for the user: errors stay until dismissed, confirmations fade.
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { readableError } from '../logic/errors';

export interface Notice {
  id: number;
  kind: 'error' | 'success' | 'info';
  text: string;
}

export const NOTICE_FADE_MS = 5000;

export const useNoticesStore = defineStore('notices', () => {
  const items = ref<Notice[]>([]);
  let nextId = 1;

  function push(kind: Notice['kind'], text: string): number {
    const id = nextId++;
    items.value = [...items.value, { id, kind, text }].slice(-6);
    if (kind !== 'error') setTimeout(() => dismiss(id), NOTICE_FADE_MS);
    return id;
  }

  function error(context: string, error?: unknown): number {
    return push('error', error === undefined ? context : `${context}: ${readableError(error)}`);
  }

  function success(text: string): number {
    return push('success', text);
  }

  function dismiss(id: number) {
    items.value = items.value.filter((n) => n.id !== id);
  }

  return { items, push, error, success, dismiss };
});
