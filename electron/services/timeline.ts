// The history of terms and leaders, derived from what the nodes report: one event when a new
// term appears, when a leader is first seen in a term, when the leader is lost, when the
// configuration changes; faults are recorded by whoever injects them.
import type { MembershipView, Role, TimelineEvent } from '../shared/api.js';

const KEPT = 500;

export interface ObservedNode {
  id: string;
  reachable: boolean;
  role: Role | 'unknown';
  term: number;
}

export class Timeline {
  private events: TimelineEvent[] = [];
  private term = 0;
  private leader = '';
  private members = '';

  constructor(private readonly now: () => number) {}

  list(): TimelineEvent[] {
    return this.events;
  }

  /** Feeds one coherent view of the nodes; returns the cluster's leader and term as seen now. */
  observe(nodes: ObservedNode[], members: MembershipView): { leader: string; term: number } {
    const reachable = nodes.filter((n) => n.reachable);
    const maxTerm = Math.max(this.term, ...reachable.map((n) => n.term));
    const leaderNode = reachable.filter((n) => n.role === 'leader').sort((a, b) => b.term - a.term)[0];
    const leader = leaderNode && leaderNode.term === maxTerm ? leaderNode.id : '';

    // A leader gone, or overtaken by a newer term, is lost in its own term, before that term's election is told.
    if (this.leader && (leader !== this.leader || maxTerm > this.term)) {
      const previous = nodes.find((n) => n.id === this.leader);
      const why = !previous?.reachable ? `${this.leader} is unreachable` : `${this.leader} is no longer leader`;
      this.leader = '';
      this.add('leader-lost', why);
    }
    if (maxTerm > this.term) {
      const candidates = reachable.filter((n) => n.term === maxTerm && (n.role === 'candidate' || n.role === 'leader')).map((n) => n.id);
      const first = this.term === 0;
      this.term = maxTerm;
      // The term a cluster is in when first seen (a new cluster's bootstrap term, or wherever a running one
      // is) is no election the console saw: only later terms, or one being campaigned for, are.
      if (!first || candidates.length) this.add('election-started', candidates.length ? `term ${maxTerm}: ${candidates.join(', ')} campaigning` : `term ${maxTerm} began`);
    }
    if (leader && leader !== this.leader) {
      this.leader = leader;
      this.add('leader-elected', `${leader} leads term ${this.term}`);
    }
    // A configuration first read (after none, or an empty one) is the starting point, not a change.
    const signature = members.voters.length + members.votersOutgoing.length + members.learners.length ? describeMembers(members) : '';
    if (signature !== this.members) {
      if (this.members && signature) this.add('membership', signature);
      if (signature) this.members = signature;
    }
    return { leader, term: this.term };
  }

  add(kind: TimelineEvent['kind'], detail: string): void {
    this.events.push({ at: this.now(), term: this.term, leader: this.leader, kind, detail });
    if (this.events.length > KEPT) this.events.splice(0, this.events.length - KEPT);
  }
}

function describeMembers(m: MembershipView): string {
  const parts = [`voters ${m.voters.join(', ') || '-'}`];
  if (m.votersOutgoing.length) parts.push(`joint with ${m.votersOutgoing.join(', ')}`);
  if (m.learners.length) parts.push(`learners ${m.learners.join(', ')}`);
  return parts.join('; ');
}
