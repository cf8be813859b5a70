// raftd's operations, once, free of any transport: the HTTP API (core/server/http-api.ts) routes
// to them and the console's embedded clusters call them directly. Checks that depend on who is
// asked (leader or not) and how answers are framed stay with each caller.
import type { Clock } from '../clock.js';
import { encodeKvCommand, type KvCommand, type KvResult } from '../kv/kv-store.js';
import type { RaftNode } from '../node/raft-node.js';
import type { ConfChange, NodeId } from '../raft/types.js';
import { decodeEntry, entryView } from './entries.js';
import { encodeMemberContext, type MemberContext, type RaftdStateMachine } from './state-machine.js';
import type { EntryDetail, LogPage, MemberAddress, MembersView, StatusView } from './wire.js';

/** A request the service refuses: 'invalid' (the request is wrong), 'not-found', or 'timeout'. */
export class ServiceError extends Error {
  constructor(
    readonly kind: 'invalid' | 'not-found' | 'timeout',
    message: string,
  ) {
    super(message);
    this.name = 'ServiceError';
  }
}

export interface NewMember extends MemberAddress {
  id: NodeId;
}

/** How long a leadership transfer may take before the caller hears it did not happen. */
export const TRANSFER_TIMEOUT_MS = 5000;

export class RaftdService {
  constructor(
    readonly node: RaftNode,
    readonly stateMachine: RaftdStateMachine,
    /** The node's clock: transfer timeouts run in its time (simulated for embedded nodes). */
    private readonly clock: Clock,
    /** Peers whose traffic the node drops (fault injection), for its status. */
    private readonly droppedPeers: () => NodeId[] = () => [],
  ) {}

  async propose(command: KvCommand): Promise<{ index: number; term: number; result: KvResult }> {
    const outcome = await this.node.propose(encodeKvCommand(command));
    return { index: outcome.index, term: outcome.term, result: outcome.result as KvResult };
  }

  /** The key's value; linearizable (after a read barrier) unless `stale`. */
  async read(key: string, stale: boolean): Promise<Uint8Array | undefined> {
    if (!stale) await this.node.readBarrier();
    return this.stateMachine.kv.get(key);
  }

  addMember(member: NewMember, learner: boolean): Promise<{ index: number }> {
    return this.change({ changes: [{ type: learner ? 'addLearner' : 'addVoter', id: member.id }] }, { [member.id]: { peer: member.peer, client: member.client } });
  }

  promote(id: NodeId): Promise<{ index: number }> {
    return this.change({ changes: [{ type: 'addVoter', id }] });
  }

  removeMember(id: NodeId): Promise<{ index: number }> {
    return this.change({ changes: [{ type: 'remove', id }] });
  }

  /** One joint change C_old,new: the new voters with their addresses, the voters leaving. */
  joint(add: NewMember[], remove: NodeId[]): Promise<{ index: number }> {
    const changes = [...add.map((m) => ({ type: 'addVoter' as const, id: m.id })), ...remove.map((id) => ({ type: 'remove' as const, id }))];
    if (changes.length === 0) return Promise.reject(new ServiceError('invalid', 'a joint change needs at least one server to add or remove'));
    const members: MemberContext = Object.fromEntries(add.map((m) => [m.id, { peer: m.peer, client: m.client }]));
    return this.change({ changes, transition: 'joint' }, members);
  }

  private async change(change: ConfChange, members: MemberContext = {}): Promise<{ index: number }> {
    const { index } = await this.node.changeMembership({ ...change, context: encodeMemberContext(members) });
    return { index };
  }

  /** Moves leadership to `to` and resolves once it leads; a ServiceError when it is no voter or did not take over in time. */
  async transferLeader(to: NodeId, timeoutMs = TRANSFER_TIMEOUT_MS): Promise<{ leader: NodeId; term: number }> {
    const s = this.node.status();
    if (!s.confState.voters.includes(to)) throw new ServiceError('invalid', `${to} is not a voter`);
    if (to !== this.node.id) {
      await new Promise<void>((resolve, reject) => {
        const cancel = this.clock.after(timeoutMs, () => {
          off();
          reject(new ServiceError('timeout', `leadership did not move to ${to} in time; is it caught up and reachable?`));
        });
        const off = this.node.on((e) => {
          if (e.type === 'role' && e.leader === to) {
            cancel();
            off();
            resolve();
          }
        });
        this.node.transferLeadership(to);
      });
    }
    const after = this.node.status();
    return { leader: after.leader, term: after.term };
  }

  members(): MembersView {
    const { confState } = this.node.status();
    return { voters: confState.voters, votersOutgoing: confState.votersOutgoing, learners: confState.learners, addresses: this.stateMachine.members() };
  }

  status(): StatusView {
    const s = this.node.status();
    return {
      id: s.id,
      role: s.role,
      term: s.term,
      vote: s.vote,
      leader: s.leader,
      commitIndex: s.commitIndex,
      appliedIndex: s.appliedIndex,
      lastIndex: s.lastIndex,
      firstIndex: s.firstIndex,
      snapshotIndex: s.snapshotIndex,
      members: this.members(),
      ...(s.progress && { progress: s.progress }),
      leadTransferee: s.leadTransferee,
      droppedPeers: this.droppedPeers(),
      revision: this.stateMachine.kv.currentRevision(),
    };
  }

  /** Up to `limit` entries from `from` (default: the last 100), with where the log starts and ends. */
  log(from: number | undefined, limit: number): LogPage {
    const s = this.node.status();
    const start = Math.max(from ?? Math.max(s.firstIndex, s.lastIndex - 99), 1);
    const entries = this.node.entries(start, limit).map(entryView);
    return { firstIndex: s.firstIndex, lastIndex: s.lastIndex, snapshotIndex: s.snapshotIndex, commitIndex: s.commitIndex, entries };
  }

  entry(index: number): EntryDetail {
    const [entry] = this.node.entries(index, 1);
    if (!entry) throw new ServiceError('not-found', `entry ${index} is not in the log (compacted or not yet written)`);
    return { ...entryView(entry), decoded: decodeEntry(entry) };
  }
}
