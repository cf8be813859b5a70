// Wall-clock time refreshed every animation frame while `active` is true; for smooth drawing only.
import { onBeforeUnmount, ref, watch, type Ref } from 'vue';

export function useFrameTime(active: Ref<boolean>): Ref<number> {
  const now = ref(Date.now());
  let handle: number | undefined;
  const tick = () => {
    now.value = Date.now();
    handle = requestAnimationFrame(tick);
  };
  const stop = () => {
    if (handle !== undefined) cancelAnimationFrame(handle);
    handle = undefined;
  };
  watch(
    active,
    (on) => {
      stop();
      if (on) tick();
      else now.value = Date.now();
    },
    { immediate: true },
  );
  onBeforeUnmount(stop);
  return now;
}
