// Light or dark: follows the OS until the user picks one, and remembers the pick.
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';

export type ThemePreference = 'system' | 'light' | 'dark';
const STORAGE_KEY = 'raft-console.theme';

function storage(): Storage | undefined {
  try {
    return globalThis.localStorage;
  } catch {
    return undefined;
  }
}

export const useThemeStore = defineStore('theme', () => {
  const saved = storage()?.getItem(STORAGE_KEY);
  const preference = ref<ThemePreference>(saved === 'light' || saved === 'dark' ? saved : 'system');
  const query = globalThis.matchMedia?.('(prefers-color-scheme: dark)');
  const osDark = ref(query?.matches ?? false);
  query?.addEventListener?.('change', (e) => {
    osDark.value = e.matches;
  });

  const dark = computed(() => (preference.value === 'system' ? osDark.value : preference.value === 'dark'));

  function set(next: ThemePreference) {
    preference.value = next;
    if (next === 'system') storage()?.removeItem(STORAGE_KEY);
    else storage()?.setItem(STORAGE_KEY, next);
  }

  function toggle() {
    set(dark.value ? 'light' : 'dark');
  }

  return { preference, osDark, dark, set, toggle };
});
