// v-keep-scroll="key": an element scrolled away from and shown again (another view, then back) returns to
// where it was. Positions live for the window's lifetime, one per key.
import type { Directive } from 'vue';

const positions = new Map<string, { top: number; left: number }>();

/** Where the element kept under `key` was scrolled to; a virtual list starts there (it sets its own offset on mount). */
export function keptScrollTop(key: string): number {
  return positions.get(key)?.top ?? 0;
}

export const vKeepScroll: Directive<HTMLElement, string> = {
  mounted(el, { value }) {
    const saved = positions.get(value);
    if (saved) el.scrollTo(saved);
  },
  beforeUnmount(el, { value }) {
    positions.set(value, { top: el.scrollTop, left: el.scrollLeft });
  },
};
