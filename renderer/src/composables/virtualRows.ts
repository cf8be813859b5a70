// A virtualized list of fixed-height rows: only rows near the viewport exist, and the list comes back
// at the place it was scrolled to when it is shown again.
import { useVirtualizer } from '@tanstack/vue-virtual';
import { computed, onBeforeUnmount, ref } from 'vue';
import { keptScrollTop, rememberScroll } from './keepScroll';

export function useVirtualRows(count: () => number, options: { rowHeight: number; overscan: number; scrollKey: string }) {
  const scroller = ref<HTMLElement | null>(null);
  const virtualizer = useVirtualizer(
    computed(() => ({
      count: count(),
      getScrollElement: () => scroller.value,
      estimateSize: () => options.rowHeight,
      overscan: options.overscan,
      initialRect: { width: 800, height: 600 },
      // The virtualizer sets the element's offset when it attaches, so the kept place goes in here.
      initialOffset: keptScrollTop(options.scrollKey),
    })),
  );
  onBeforeUnmount(() => {
    if (scroller.value) rememberScroll(options.scrollKey, scroller.value);
  });
  const items = computed(() => virtualizer.value.getVirtualItems());
  const totalHeight = computed(() => virtualizer.value.getTotalSize());
  return { scroller, virtualizer, items, totalHeight };
}
