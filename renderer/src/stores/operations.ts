// Everything the user starts goes through run(): it shows progress once it takes longer than a
// second, reports failures as readable notices, and tracks long backend operations by their id.
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { OperationProgress } from '../../../electron/shared/api';
import { readableError } from '../logic/errors';
import { useConnectionStore } from './connection';
import { useNavigationStore } from './navigation';
import { useNoticesStore } from './notices';
import { useTimeTravelStore } from './timeTravel';

export const SLOW_AFTER_MS = 1000;

export interface Task {
  id: number;
  title: string;
  startedAt: number;
  /** Past SLOW_AFTER_MS: the UI shows it in the progress list. */
  slow: boolean;
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: string };

export const useOperationsStore = defineStore('operations', () => {
  const connection = useConnectionStore();
  const notices = useNoticesStore();
  const navigation = useNavigationStore();
  const timeTravel = useTimeTravelStore();
  const tasks = ref<Task[]>([]);
  const progress = ref<Record<string, OperationProgress>>({});
  let nextId = 1;

  connection.on('operation.progress', (p) => {
    progress.value = { ...progress.value, [p.operationId]: p };
    // A cancel the user asked for is news, not a failure: what was undone shows, then fades.
    if (p.done && p.error) {
      if (p.cancelled) notices.push('info', `${p.title}: ${p.error}`, p.clusterId);
      else notices.error(p.title, p.error, p.clusterId);
    }
  });

  /** A failure is reported about the cluster that was open when the user acted (options.clusterId to say otherwise). */
  async function run<T>(title: string, fn: () => Promise<T>, options: { quiet?: boolean; clusterId?: string | null } = {}): Promise<Outcome<T>> {
    const clusterId = options.clusterId !== undefined ? options.clusterId : navigation.clusterId;
    // The open cluster shown at a past moment (or a replay): acting on it is refused here, once for every action.
    const readOnly = clusterId && clusterId === navigation.clusterId ? timeTravel.readOnlyReason : null;
    if (readOnly) {
      if (!options.quiet) notices.push('error', `${title}: not done. ${readOnly}`, clusterId);
      return { ok: false, error: readOnly };
    }
    const task: Task = { id: nextId++, title, startedAt: Date.now(), slow: false };
    tasks.value = [...tasks.value, task];
    const timer = setTimeout(() => {
      tasks.value = tasks.value.map((t) => (t.id === task.id ? { ...t, slow: true } : t));
    }, SLOW_AFTER_MS);
    try {
      return { ok: true, value: await fn() };
    } catch (e) {
      if (!options.quiet) notices.error(`${title} failed`, e, clusterId);
      return { ok: false, error: readableError(e) };
    } finally {
      clearTimeout(timer);
      tasks.value = tasks.value.filter((t) => t.id !== task.id);
    }
  }

  function isRunning(title: string): boolean {
    return tasks.value.some((t) => t.title === title);
  }

  /** What the progress panel lists: slow requests and backend operations not yet done. */
  const visible = computed(() => ({
    tasks: tasks.value.filter((t) => t.slow),
    operations: Object.values(progress.value).filter((p) => !p.done),
  }));

  const busy = computed(() => tasks.value.length > 0);

  return { tasks, progress, visible, busy, run, isRunning };
});
