// What the cluster is doing, in plain sentences for someone who has only read about Raft. Every
// conclusion (quorum, who is behind and by how much) is the backend's, from state.facts.
import type { ClusterState } from '../../../electron/shared/api';
import { plural } from './format';
import { describeMajority } from './quorum';

export function narrate(state: ClusterState): string[] {
  const lines: string[] = [];
  const f = state.facts;
  const leader = state.nodes.find((n) => n.id === state.leader && n.role === 'leader');
  if (leader) {
    lines.push(
      f.hasQuorum
        ? `${leader.id} is the leader of term ${leader.term}. It is the only node that accepts writes, and it sends heartbeats so the others do not start an election.`
        : `${leader.id} still leads term ${leader.term}, but without a majority it cannot commit anything: it steps down once it sees it has not heard from a majority for an election timeout (CheckQuorum).`,
    );
    lines.push(
      `Entries up to index ${leader.commitIndex} are committed: stored on a majority (${describeMajority(f.voters)}).` +
        (!f.hasQuorum
          ? ''
          : f.failuresTolerated > 0
            ? ` With ${f.votersUp.length} voters up, the cluster keeps working if ${plural(f.failuresTolerated, 'more voter')} ${f.failuresTolerated === 1 ? 'fails' : 'fail'}.`
            : ` With ${f.votersUp.length} voters up, one more failure stops it from committing.`),
    );
  } else {
    const candidates = state.nodes.filter((n) => n.role === 'candidate' || n.role === 'precandidate');
    lines.push(
      candidates.length
        ? `No leader right now: ${candidates.map((c) => c.id).join(', ')} ${candidates.length === 1 ? 'is' : 'are'} asking for votes in term ${Math.max(...candidates.map((c) => c.term))}.`
        : `No leader right now. A follower whose election timer runs out becomes a candidate and asks the others for votes.`,
    );
  }
  if (!f.hasQuorum)
    lines.push(
      `Only ${f.votersUp.length} of ${f.voters} voters are up; a leader needs ${f.majority}. Nothing can be committed until enough of them return.`,
    );
  const behind = state.nodes.filter((n) => n.id !== state.leader && (f.lag[n.id] ?? 0) > 0);
  for (const n of behind.slice(0, 3)) lines.push(`${n.id} is ${plural(f.lag[n.id] ?? 0, 'entry', 'entries')} behind the leader; replication catches it up.`);
  const learners = state.members.learners;
  if (learners.length)
    lines.push(`${learners.join(', ')} ${learners.length === 1 ? 'is a learner' : 'are learners'}: ${learners.length === 1 ? 'it receives' : 'they receive'} the log but ${learners.length === 1 ? 'does' : 'do'} not vote.`);
  if (state.members.votersOutgoing.length)
    lines.push(`A joint configuration is in effect: decisions need a majority of the old voters (${state.members.votersOutgoing.join(', ')}) and of the new ones (${state.members.voters.join(', ')}).`);
  if ((state.partitions?.length ?? 0) > 1) lines.push(`The network is partitioned into ${state.partitions?.map((g) => `{${g.join(', ')}}`).join(' | ')}.`);
  return lines;
}
