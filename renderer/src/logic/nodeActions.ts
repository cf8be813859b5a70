// What each node action is called, what it does, and which ones ask before acting: one rule for every
// place that offers them (the Faults table, "Kill the leader", the topology).
export type NodeAction = 'kill' | 'pause' | 'resume' | 'restart' | 'start' | 'stop';

export const actionLabels: Record<NodeAction, string> = {
  kill: 'Kill',
  pause: 'Pause',
  resume: 'Resume',
  restart: 'Restart',
  start: 'Start',
  stop: 'Stop',
};

export const actionExplanations: Record<NodeAction, string> = {
  kill: 'SIGKILL: the process dies at once, without flushing anything not yet on disk.',
  pause: 'The node freezes: no ticks, no replies. Its peers see it as slow or dead.',
  resume: 'The node continues where it froze; it may find a newer term waiting.',
  restart: 'Stop and start again: it reloads its log and state from disk.',
  start: 'Start the node from its data directory.',
  stop: 'Graceful stop.',
};

/** Actions that lose work or availability at once ask first; the question is what they do. */
export function confirmationFor(action: NodeAction): string | null {
  return action === 'kill' ? actionExplanations.kill : null;
}
