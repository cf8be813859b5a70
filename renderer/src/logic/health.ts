// Health in words and in a tag color, for clusters and single nodes.
import type { ClusterSummary, NodeView, Role } from '../../../electron/shared/api';
import { plural } from './format';

export type TagType = 'default' | 'success' | 'warning' | 'error' | 'info';

export const clusterHealthLabel: Record<ClusterSummary['health'], string> = {
  healthy: 'healthy',
  degraded: 'degraded',
  'no-leader': 'no leader',
  'no-quorum': 'no quorum',
  stopped: 'stopped',
};

export const clusterHealthTag: Record<ClusterSummary['health'], TagType> = {
  healthy: 'success',
  degraded: 'warning',
  'no-leader': 'warning',
  'no-quorum': 'error',
  stopped: 'default',
};

export const roleTag: Record<Role | 'unknown', TagType> = {
  leader: 'success',
  candidate: 'warning',
  precandidate: 'warning',
  follower: 'info',
  unknown: 'default',
};

/** Entries behind the leader at which a node counts as lagging rather than keeping up. */
export const LAG_WARNING = 100;

export interface NodeHealth {
  level: TagType;
  text: string;
}

/** A node whose host the console cannot reach (the backend's hostUnreachable): its process is unknown, never crashed. */
export const HOST_UNREACHABLE = 'unknown (host unreachable)';

/** The node's process state in words, as every view shows it. */
export function processLabel(node: Pick<NodeView, 'process' | 'hostUnreachable'>): string {
  return node.hostUnreachable ? HOST_UNREACHABLE : node.process;
}

/** `lag` is the backend's (state.facts.lag): entries behind the leader, null when unknown. */
export function nodeHealth(node: NodeView, lag: number | null, cutOff = false): NodeHealth {
  if (node.hostUnreachable) return { level: 'warning', text: HOST_UNREACHABLE };
  if (node.process === 'killed' || node.process === 'crashed') return { level: 'error', text: `${node.process}` };
  if (node.process === 'stopped') return { level: 'default', text: 'stopped' };
  if (node.process === 'paused') return { level: 'warning', text: 'paused: not ticking, not answering' };
  if (!node.reachable) return { level: 'error', text: node.error ? `unreachable: ${node.error}` : 'unreachable' };
  if (node.process === 'starting') return { level: 'info', text: 'starting' };
  if (cutOff) return { level: 'warning', text: 'cut off from the leader by the partition' };
  if (node.role === 'candidate' || node.role === 'precandidate') return { level: 'warning', text: 'campaigning for leadership' };
  if (lag === null) return { level: 'info', text: 'no leader to compare with' };
  if (lag >= LAG_WARNING) return { level: 'warning', text: `${plural(lag, 'entry', 'entries')} behind the leader` };
  return { level: 'success', text: lag > 0 ? `catching up (${lag} behind)` : 'up to date' };
}
