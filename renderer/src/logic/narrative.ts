// What the cluster is doing, in plain sentences for someone who has only read about Raft.
import type { ClusterState } from '../../../electron/shared/api';
import { describeMajority, faultTolerance, quorumStatus } from './quorum';

export function narrate(state: ClusterState): string[] {
  const lines: string[] = [];
  const q = quorumStatus(state);
  const leader = state.nodes.find((n) => n.id === state.leader && n.role === 'leader');
  if (leader) {
    lines.push(
      `${leader.id} is the leader of term ${leader.term}. It is the only node that accepts writes, and it sends heartbeats so the others do not start an election.`,
    );
    lines.push(
      `Entries up to index ${leader.commitIndex} are committed: stored on a majority (${describeMajority(q.voters)}), so they survive any ${faultTolerance(q.voters)} failure${faultTolerance(q.voters) === 1 ? '' : 's'}.`,
    );
  } else {
    const candidates = state.nodes.filter((n) => n.role === 'candidate' || n.role === 'precandidate');
    lines.push(
      candidates.length
        ? `No leader right now: ${candidates.map((c) => c.id).join(', ')} ${candidates.length === 1 ? 'is' : 'are'} asking for votes in term ${Math.max(...candidates.map((c) => c.term))}.`
        : `No leader right now. A follower whose election timer runs out becomes a candidate and asks the others for votes.`,
    );
  }
  if (!q.hasQuorum)
    lines.push(
      `Only ${q.up.length} of ${q.voters} voters are up; a leader needs ${q.majority}. Nothing can be committed until enough of them return.`,
    );
  const behind = state.nodes.filter((n) => n.id !== state.leader && n.lag > 0 && n.reachable && n.process === 'running');
  for (const n of behind.slice(0, 3)) lines.push(`${n.id} is ${n.lag} entr${n.lag === 1 ? 'y' : 'ies'} behind the leader; replication catches it up.`);
  if (state.members.learners.length)
    lines.push(`${state.members.learners.join(', ')} ${state.members.learners.length === 1 ? 'is a learner' : 'are learners'}: ${state.members.learners.length === 1 ? 'it receives' : 'they receive'} the log but ${state.members.learners.length === 1 ? 'does' : 'do'} not vote.`);
  if (state.members.votersOutgoing.length)
    lines.push(`A joint configuration is in effect: decisions need a majority of the old voters (${state.members.votersOutgoing.join(', ')}) and of the new ones (${state.members.voters.join(', ')}).`);
  if ((state.partitions?.length ?? 0) > 1) lines.push(`The network is partitioned into ${state.partitions?.map((g) => `{${g.join(', ')}}`).join(' | ')}.`);
  return lines;
}
