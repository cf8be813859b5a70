// Which moment of the open cluster the console shows: "live", or a moment of its recorded history
// (the backend's trace), played back at a speed. The clusterState store hands every view the state of
// this moment, so views never ask what "now" is. Nothing can be done to a cluster while it shows the past.
import { defineStore } from 'pinia';
import { computed, ref, shallowRef, watch } from 'vue';
import type { ClusterSummary, TraceMomentView, TraceRange } from '../../../electron/shared/api';
import { MAX_REQUEST_FRAME_BYTES } from '../../../electron/shared/ws-protocol';
import { saveText } from '../api/download';
import { readableError } from '../logic/errors';
import { formatClock, formatElapsed } from '../logic/format';
import { useConnectionStore } from './connection';
import { useNavigationStore } from './navigation';

export const playSpeeds = [0.25, 0.5, 1, 2, 5, 10] as const;
/** Soonest a cluster's empty trace is asked about again. */
export const RANGE_RETRY_MS = 2000;
/** How often playback moves the moment (wall-clock ms). */
export const PLAY_TICK_MS = 100;

/** What playback does with a moment: moves it on by the time passed at the speed, no further than `end`. */
export function advance(moment: number, elapsedMs: number, speed: number, end: number): { moment: number; atEnd: boolean } {
  const next = moment + elapsedMs * speed;
  return next >= end ? { moment: end, atEnd: true } : { moment: next, atEnd: false };
}

/** A moment as the cluster's clock tells it: simulated time elapsed (+1:20.4) for embedded clusters, else the local time. */
export function describeMoment(shown: TraceMomentView | undefined, at: number): string {
  const clock = shown?.state.clock;
  return clock ? `${formatElapsed(clock.now)} simulated` : formatClock(at);
}

export const useTimeTravelStore = defineStore('timeTravel', () => {
  const connection = useConnectionStore();
  const navigation = useNavigationStore();
  /** Per cluster: what its trace holds. */
  const ranges = shallowRef<Record<string, TraceRange | null>>({});
  /** Per cluster: the moment chosen (wall-clock ms); absent while live. */
  const moments = shallowRef<Record<string, number>>({});
  /** Per cluster: the recorded state shown for its moment. */
  const shown = shallowRef<Record<string, TraceMomentView>>({});
  /** Per cluster: when its newest live state was built, so "live" is the slider's right end. */
  const newest = shallowRef<Record<string, number>>({});
  const playing = ref(false);
  const speed = ref<number>(1);
  const error = ref<string | null>(null);
  const busy = ref(false);

  /** A live state arrived (the clusterState store passes each on): the slider's right end moves with it. */
  function noteLive(s: { clusterId: string; at: number }) {
    if ((newest.value[s.clusterId] ?? 0) < s.at) newest.value = { ...newest.value, [s.clusterId]: s.at };
    // A cluster whose trace was empty when last asked (a new one) has one now: ask again, at most every few seconds.
    if (s.clusterId === clusterId.value && ranges.value[s.clusterId] === null && Date.now() - (rangeAskedAt.get(s.clusterId) ?? 0) > RANGE_RETRY_MS) {
      void loadRange(s.clusterId);
    }
  }
  const rangeAskedAt = new Map<string, number>();

  const clusterId = computed(() => navigation.clusterId);
  const range = computed(() => (clusterId.value ? ranges.value[clusterId.value] ?? null : null));
  const isReplay = computed(() => range.value?.replay === true);
  const moment = computed<number | null>(() => (clusterId.value ? moments.value[clusterId.value] ?? null : null));
  const live = computed(() => moment.value === null && !isReplay.value);
  /** The recorded state for the moment chosen; undefined while live (or until it is read). */
  const past = computed<TraceMomentView | undefined>(() => (clusterId.value && moment.value !== null ? shown.value[clusterId.value] : undefined));
  const start = computed(() => range.value?.first ?? null);
  const end = computed(() => {
    const r = range.value;
    if (!r) return null;
    return r.replay ? r.last : Math.max(r.last, newest.value[clusterId.value ?? ''] ?? 0);
  });
  /** Where the slider stands: the moment chosen, or its right end while live. */
  const position = computed(() => moment.value ?? end.value);
  const label = computed(() => (live.value ? 'live' : describeMoment(past.value, past.value?.at ?? moment.value ?? 0)));
  /** Why nothing can be done now; null while live. */
  const readOnlyReason = computed(() => {
    if (live.value || !clusterId.value) return null;
    if (isReplay.value) return 'This is a replay of a recorded trace: it plays back, it cannot be changed.';
    return `You are looking at the past (${label.value}): actions are off until you return to live.`;
  });

  function set<T>(target: { value: Record<string, T> }, id: string, value: T | undefined) {
    const next = { ...target.value };
    if (value === undefined) delete next[id];
    else next[id] = value;
    target.value = next;
  }

  async function loadRange(id: string | null = clusterId.value) {
    if (!id) return;
    rangeAskedAt.set(id, Date.now());
    try {
      const r = await connection.invoke('trace.range', { clusterId: id });
      set(ranges, id, r);
      // A replay has no live moment: it opens at its start, ready to play.
      if (r?.replay && moments.value[id] === undefined) await seek(r.first, id);
      error.value = null;
    } catch (e) {
      error.value = readableError(e);
    }
  }

  watch([clusterId, () => connection.generation], ([id]) => {
    playing.value = false;
    void loadRange(id);
  }, { immediate: true });

  // Reads are serialized; while one is out, only the newest moment asked for waits (scrubbing asks many).
  let reading = false;
  let wanted: { id: string; t: number } | null = null;
  async function read(id: string, t: number) {
    wanted = { id, t };
    if (reading) return;
    reading = true;
    try {
      while (wanted) {
        const next: { id: string; t: number } = wanted;
        wanted = null;
        try {
          const view = await connection.invoke('trace.at', { clusterId: next.id, at: next.t });
          if (moments.value[next.id] === undefined) continue;
          if (view) set(shown, next.id, view);
          error.value = view ? null : 'Nothing was recorded that early.';
          // The oldest part of a trace is deleted as it grows: learn where it starts now.
          if (!view) void loadRange(next.id);
        } catch (e) {
          error.value = readableError(e);
        }
      }
    } finally {
      reading = false;
    }
  }

  /** Shows the cluster as it was at `t` (clamped to what is recorded). */
  async function seek(t: number, id: string | null = clusterId.value) {
    if (!id) return;
    if (!ranges.value[id]) await loadRange(id);
    const r = ranges.value[id];
    if (!r) {
      error.value = 'Nothing has been recorded for this cluster yet.';
      return;
    }
    const last = r.replay ? r.last : Math.max(r.last, newest.value[id] ?? 0);
    const clamped = Math.min(Math.max(t, r.first), last);
    set(moments, id, clamped);
    await read(id, clamped);
  }

  /** Back to the cluster as it is now (a replay has no now: back to its start). */
  function goLive() {
    const id = clusterId.value;
    playing.value = false;
    if (!id) return;
    if (isReplay.value) return void seek(range.value!.first, id);
    set(moments, id, undefined);
    set(shown, id, undefined);
  }

  let timer: ReturnType<typeof setInterval> | undefined;
  let lastTick = 0;
  function tick() {
    const id = clusterId.value;
    const at = moment.value;
    if (!playing.value || !id || at === null || end.value === null) return pause();
    const now = Date.now();
    const step = advance(at, now - lastTick, speed.value, end.value);
    lastTick = now;
    if (step.atEnd && !isReplay.value) return goLive();
    void seek(step.moment, id);
    if (step.atEnd) pause();
  }

  /** Plays from the moment shown (from the start of the trace when live or at the end). */
  async function play() {
    if (!clusterId.value) return;
    if (!range.value) await loadRange();
    if (!range.value) return;
    if (moment.value === null || moment.value >= (end.value ?? 0)) await seek(range.value.first);
    playing.value = true;
    lastTick = Date.now();
    clearInterval(timer);
    timer = setInterval(tick, PLAY_TICK_MS);
  }

  function pause() {
    playing.value = false;
    clearInterval(timer);
    timer = undefined;
  }

  const toggle = () => (playing.value ? pause() : play());

  /** Saves [from, to] of the open cluster's trace (all of it by default) as a file. */
  async function exportTrace(from?: number, to?: number): Promise<boolean> {
    const id = clusterId.value;
    if (!id) return false;
    busy.value = true;
    try {
      const file = await connection.invoke('trace.export', { clusterId: id, ...(from !== undefined && { from }), ...(to !== undefined && { to }) });
      saveText(file.filename, file.text);
      error.value = null;
      return true;
    } catch (e) {
      error.value = `Export failed: ${readableError(e)}`;
      return false;
    } finally {
      busy.value = false;
    }
  }

  /** Sends a trace file to the console, compressed when the browser can, and opens the replay it becomes. */
  async function importTrace(file: Blob, name?: string): Promise<ClusterSummary | undefined> {
    busy.value = true;
    try {
      const params = await importParams(file);
      // A request larger than a frame would close the connection instead of being answered: say so first.
      if (params.content.length + 1024 > MAX_REQUEST_FRAME_BYTES) {
        throw new Error(`the file is too large to send (${mib(params.content.length)} MiB${params.encoding === 'gzip-base64' ? ' compressed' : ''}; at most ${mib(MAX_REQUEST_FRAME_BYTES - 1024)} MiB)`);
      }
      const replay = await connection.invoke('trace.import', { ...params, ...(name && { name }) });
      error.value = null;
      navigation.go('dashboard', replay.id);
      return replay;
    } catch (e) {
      error.value = `Import failed: ${readableError(e)}`;
      return undefined;
    } finally {
      busy.value = false;
    }
  }

  return {
    ranges,
    moments,
    shown,
    playing,
    speed,
    error,
    busy,
    range,
    isReplay,
    moment,
    live,
    past,
    start,
    end,
    position,
    label,
    readOnlyReason,
    noteLive,
    loadRange,
    seek,
    goLive,
    play,
    pause,
    toggle,
    exportTrace,
    importTrace,
  };
});

/** A file as trace.import takes it: gzip (base64) when the browser compresses streams and the file is not gzip already; text otherwise. */
async function importParams(file: Blob): Promise<{ content: string; encoding: 'text' | 'gzip-base64' }> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  const gzipped = bytes[0] === 0x1f && bytes[1] === 0x8b;
  if (gzipped) return { content: toBase64(bytes), encoding: 'gzip-base64' };
  if (typeof CompressionStream === 'undefined') return { content: new TextDecoder().decode(bytes), encoding: 'text' };
  const compressed = await new Response(new Blob([bytes]).stream().pipeThrough(new CompressionStream('gzip'))).arrayBuffer();
  return { content: toBase64(new Uint8Array(compressed)), encoding: 'gzip-base64' };
}

const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}
