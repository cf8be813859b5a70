// Messages in flight between embedded nodes: what kind they are and where along their path they are now.
import type { ClusterState, MessageInFlight } from '../../../electron/shared/api';

export type MessageKind = 'vote' | 'append' | 'heartbeat' | 'snapshot' | 'other';

export const messageKinds: readonly MessageKind[] = ['vote', 'append', 'heartbeat', 'snapshot', 'other'];

export function classifyMessage(type: string): MessageKind {
  const t = type.toLowerCase();
  if (t.includes('heartbeat')) return 'heartbeat';
  if (t.includes('snap')) return 'snapshot';
  if (t.includes('vote')) return 'vote';
  if (t.includes('app')) return 'append';
  return 'other';
}

export function isResponse(type: string): boolean {
  return /resp|response|reply/i.test(type);
}

/** 0 at the sender, 1 at the receiver. */
export function flightProgress(message: MessageInFlight, now: number): number {
  const span = message.deliverAt - message.sentAt;
  if (span <= 0) return 1;
  return Math.min(1, Math.max(0, (now - message.sentAt) / span));
}

/**
 * Simulated time now, extrapolated from the last pushed clock so messages glide between pushes.
 * Never runs past the next push by more than `maxAheadMs` of simulated time.
 */
export function estimateSimNow(
  clock: NonNullable<ClusterState['clock']>,
  receivedAtWall: number,
  wallNow: number,
  maxAheadMs = 1000,
): number {
  if (!clock.running) return clock.now;
  const ahead = Math.max(0, wallNow - receivedAtWall) * clock.speed;
  return clock.now + Math.min(ahead, maxAheadMs);
}

export const messageColors: Record<MessageKind, string> = {
  vote: '#e8a33d',
  append: '#3b82f6',
  heartbeat: '#e05d8c',
  snapshot: '#8b5cf6',
  other: '#888888',
};
