// The scenario's hands and eyes on an embedded cluster: move time until something happens, cut and
// restore links, crash and restart, propose on a chosen node, and read back roles, logs and values.
import type { EmbeddedCluster } from '../node/embedded.js';
import type { NodeStatus } from '../node/raft-node.js';
import type { ConfState, Entry, NodeId } from '../raft/types.js';
import { encodeMemberContext } from '../service/state-machine.js';

/** How a write proposed by a step ended (or not yet). */
export type WriteOutcome = { state: 'pending' } | { state: 'committed'; index: number; term: number } | { state: 'failed'; reason: string };

/** How a membership change proposed by a step ended. */
export type ChangeOutcome = { state: 'pending' } | { state: 'applied'; index: number } | { state: 'refused'; reason: string };

const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));

/**
 * Lets people watch a step: called after each few simulated milliseconds a step moves, it may wait (the
 * console waits in wall-clock time so votes and entries can be seen flying). The run is the same either way.
 */
export interface Pacer {
  stepStarted(): void;
  after(simulatedMs: number): Promise<void>;
}

/** Simulated milliseconds moved between two calls of the pacer. */
const PACE_CHUNK_MS = 5;

export class ScenarioStage {
  /** Names and numbers a step found (who won, which index) for the narration and checks of later steps. */
  readonly facts: Record<string, string | number> = {};
  private readonly writes = new Map<string, WriteOutcome>();
  private readonly changes = new Map<string, ChangeOutcome>();

  constructor(
    readonly cluster: EmbeddedCluster,
    readonly pacer?: Pacer,
  ) {}

  now(): number {
    return this.cluster.clock.now();
  }

  /** Undefined for a node that is down or not in the cluster (a name a failed step never found). */
  status(id: NodeId): NodeStatus | undefined {
    return this.known(id) ? this.cluster.node(id)?.status() : undefined;
  }

  up(id: NodeId): boolean {
    return this.known(id) && this.cluster.isUp(id);
  }

  private known(id: NodeId): boolean {
    return this.cluster.ids().includes(id);
  }

  role(id: NodeId): string {
    return this.status(id)?.role ?? 'down';
  }

  term(id: NodeId): number {
    return this.status(id)?.term ?? -1;
  }

  commit(id: NodeId): number {
    return this.status(id)?.commitIndex ?? -1;
  }

  lastIndex(id: NodeId): number {
    return this.status(id)?.lastIndex ?? -1;
  }

  conf(id: NodeId): ConfState | undefined {
    return this.status(id)?.confState;
  }

  /** Every running node that believes it leads, with its term. */
  leaders(): { id: NodeId; term: number }[] {
    return this.cluster
      .ids()
      .map((id) => this.status(id))
      .filter((s): s is NodeStatus => s?.role === 'leader')
      .map((s) => ({ id: s.id, term: s.term }));
  }

  /** The entry a running node holds at `index`, if any. */
  entry(id: NodeId, index: number): Entry | undefined {
    return this.known(id) ? this.cluster.node(id)?.entries(index, 1)[0] : undefined;
  }

  /** The term of a running node's entry at `index` (0: none). */
  entryTerm(id: NodeId, index: number): number {
    return this.entry(id, index)?.term ?? 0;
  }

  /** What a running node's state machine holds for `key`. */
  value(id: NodeId, key: string): string | undefined {
    return this.up(id) ? text(this.cluster.stateMachine(id).kv.get(key)) : undefined;
  }

  async step(ms: number): Promise<void> {
    if (!this.pacer) return this.cluster.step(ms);
    for (let done = 0; done < ms; done += PACE_CHUNK_MS) {
      const chunk = Math.min(PACE_CHUNK_MS, ms - done);
      await this.cluster.step(chunk);
      await this.pacer.after(chunk);
    }
  }

  /** Moves time a millisecond at a time until `condition` holds; false if it did not within `withinMs`. */
  async until(condition: () => boolean, withinMs: number): Promise<boolean> {
    for (let t = 0; t < withinMs; t++) {
      if (condition()) return true;
      await this.cluster.step(1);
      if (this.pacer && (t + 1) % PACE_CHUNK_MS === 0) await this.pacer.after(PACE_CHUNK_MS);
    }
    return condition();
  }

  /** The node's election timer fires now (Raft's Hup): it campaigns, with a pre-vote first where PreVote is on. */
  campaign(id: NodeId): void {
    this.cluster.node(id)?.campaign();
  }

  /** Messages from `from` to each of `to` are lost from now on (those in flight too) until restoreLinks(). */
  cut(from: NodeId, to: NodeId[]): void {
    for (const t of to) this.cluster.network.drop(from, t, true);
  }

  /** Cuts every link of `id`, both ways. */
  isolate(id: NodeId): void {
    this.cluster.network.isolate(id);
  }

  partition(groups: NodeId[][]): void {
    this.cluster.network.partition(groups);
  }

  /** Every route works again: no cut links, isolation or partition. */
  restoreLinks(): void {
    this.cluster.network.heal();
  }

  crash(id: NodeId): Promise<void> {
    return this.cluster.crash(id);
  }

  restart(id: NodeId): Promise<void> {
    return this.cluster.restart(id);
  }

  /** Proposes `key = value` on `id` (which must believe it leads) and keeps track of how it ends, without waiting. */
  propose(id: NodeId, key: string, value: string): void {
    const name = `${id}:${key}=${value}`;
    const service = this.cluster.service(id);
    if (!service) {
      this.writes.set(name, { state: 'failed', reason: `${id} is down` });
      return;
    }
    this.writes.set(name, { state: 'pending' });
    service.propose({ op: 'put', key, value: new TextEncoder().encode(value) }).then(
      (out) => this.writes.set(name, { state: 'committed', index: out.index, term: out.term }),
      (error: Error) => this.writes.set(name, { state: 'failed', reason: error.message }),
    );
  }

  write(id: NodeId, key: string, value: string): WriteOutcome {
    return this.writes.get(`${id}:${key}=${value}`) ?? { state: 'failed', reason: 'never proposed' };
  }

  /** A new empty node, not yet a member (it waits to be added). */
  addEmptyNode(id: NodeId): Promise<void> {
    return this.cluster.addEmptyNode(id);
  }

  /** Proposes a membership change on `leader` through the checked path raftd uses; tracked under `name`. */
  change(name: string, leader: NodeId, kind: 'addLearner' | 'promote' | 'remove', id: NodeId): void {
    const service = this.cluster.service(leader);
    if (!service) {
      this.changes.set(name, { state: 'refused', reason: `${leader} is down` });
      return;
    }
    const request =
      kind === 'addLearner' ? service.addMember({ id, ...this.cluster.address(id) }, true) : kind === 'promote' ? service.promote(id) : service.removeMember(id);
    this.track(name, request);
  }

  /**
   * TEACHING ONLY: a membership change on `leader` WITHOUT raft's safety checks (RaftNode.changeMembershipUnsafe),
   * to show the split brain they prevent. Only scenarios call it; no console or raftd path can.
   */
  changeUnsafe(name: string, leader: NodeId, kind: 'promote' | 'remove', id: NodeId): void {
    const node = this.cluster.node(leader);
    if (!node) {
      this.changes.set(name, { state: 'refused', reason: `${leader} is down` });
      return;
    }
    const change = { changes: [{ type: kind === 'promote' ? ('addVoter' as const) : ('remove' as const), id }], context: encodeMemberContext({}) };
    this.track(name, node.changeMembershipUnsafe(change));
  }

  changeOutcome(name: string): ChangeOutcome {
    return this.changes.get(name) ?? { state: 'refused', reason: 'never proposed' };
  }

  private track(name: string, request: Promise<{ index: number }>): void {
    this.changes.set(name, { state: 'pending' });
    request.then(
      (out) => this.changes.set(name, { state: 'applied', index: out.index }),
      (error: Error) => this.changes.set(name, { state: 'refused', reason: error.message }),
    );
  }
}
