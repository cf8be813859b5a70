// Messages for the user: errors stay until dismissed, confirmations fade. A message about one cluster
// shows only while that cluster is open; general ones show everywhere.
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { readableError } from '../logic/errors';
import { useNavigationStore } from './navigation';

export interface Notice {
  id: number;
  kind: 'error' | 'success' | 'info';
  text: string;
  /** The cluster it is about; undefined for the console as a whole. */
  clusterId?: string;
}

export const NOTICE_FADE_MS = 5000;

export const useNoticesStore = defineStore('notices', () => {
  const navigation = useNavigationStore();
  const items = ref<Notice[]>([]);
  let nextId = 1;

  function push(kind: Notice['kind'], text: string, clusterId?: string | null): number {
    const id = nextId++;
    items.value = [...items.value, { id, kind, text, ...(clusterId && { clusterId }) }].slice(-6);
    if (kind !== 'error') setTimeout(() => dismiss(id), NOTICE_FADE_MS);
    return id;
  }

  function error(context: string, error?: unknown, clusterId?: string | null): number {
    return push('error', error === undefined ? context : `${context}: ${readableError(error)}`, clusterId);
  }

  function success(text: string, clusterId?: string | null): number {
    return push('success', text, clusterId);
  }

  function dismiss(id: number) {
    items.value = items.value.filter((n) => n.id !== id);
  }

  /** What is shown now: general notices and those of the open cluster. */
  const visible = computed(() => items.value.filter((n) => !n.clusterId || n.clusterId === navigation.clusterId));

  return { items, visible, push, error, success, dismiss };
});
