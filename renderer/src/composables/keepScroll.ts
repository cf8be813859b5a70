// Scroll positions that survive an element being hidden and shown again (another view, then back).
// They live for the window's lifetime, one per key.
import type { Directive } from 'vue';

const positions = new Map<string, { top: number; left: number }>();

export function rememberScroll(key: string, el: HTMLElement): void {
  positions.set(key, { top: el.scrollTop, left: el.scrollLeft });
}

export function keptScrollTop(key: string): number {
  return positions.get(key)?.top ?? 0;
}

/** v-keep-scroll="key" on a plain scrolling element (virtual lists use useVirtualRows). */
export const vKeepScroll: Directive<HTMLElement, string> = {
  mounted(el, { value }) {
    const saved = positions.get(value);
    if (saved) el.scrollTo(saved);
  },
  beforeUnmount(el, { value }) {
    rememberScroll(value, el);
  },
};
