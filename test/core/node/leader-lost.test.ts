// A follower whose connection to its leader is lost forgets the leader at once, so clients are told
// 503 + Retry-After rather than sent to a leader that is gone; it does not wait for an election
// timeout of silence (the other rule). On simulated time: no tick passes between the loss and the check.
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../core/clock.js';
import { RaftNode } from '../../../core/node/raft-node.js';
import type { Message, NodeId } from '../../../core/raft/types.js';
import { seededRandom } from '../../../core/random.js';
import { RaftdStateMachine } from '../../../core/service/state-machine.js';
import { MemoryLogStore, MemorySnapshotStore } from '../../../core/storage/memory.js';
import { MemoryNetwork } from '../../../core/transport/memory.js';
import type { Transport } from '../../../core/transport/types.js';

/** A transport whose test can say "the connection to this peer was lost", as TcpTransport does on a close. */
class LosableTransport implements Transport {
  private unreachable: ((peer: NodeId) => void) | undefined;
  constructor(private readonly inner: Transport) {}
  get id(): NodeId {
    return this.inner.id;
  }
  send(messages: Message[]): void {
    this.inner.send(messages);
  }
  onMessage(handler: (message: Message) => void): void {
    this.inner.onMessage(handler);
  }
  onUnreachable(handler: (peer: NodeId) => void): void {
    this.unreachable = handler;
    this.inner.onUnreachable?.(handler);
  }
  setPeer(id: NodeId, address: string): void {
    this.inner.setPeer(id, address);
  }
  removePeer(id: NodeId): void {
    this.inner.removePeer(id);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
  lost(peer: NodeId): void {
    this.unreachable?.(peer);
  }
}

const settle = () => new Promise((resolve) => setImmediate(resolve));
const nodes: RaftNode[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.stop();
});

async function advanceUntil(clock: ManualClock, done: () => boolean, what: string): Promise<void> {
  for (let t = 0; t < 20_000 && !done(); t += 100) {
    clock.advance(100);
    await settle();
  }
  if (!done()) throw new Error(`simulated 20 s without ${what}`);
}

describe('RaftNode when the connection to its leader is lost', () => {
  it('forgets the leader at once, before any election timeout, and follows it again once heard from', async () => {
    const clock = new ManualClock();
    const network = new MemoryNetwork({ clock, random: seededRandom(1), latency: { min: 1, max: 1 } });
    const start = (id: NodeId, transport: Transport, initialMembers?: NodeId[]) =>
      RaftNode.start({ id, logStore: new MemoryLogStore(), snapshotStore: new MemorySnapshotStore(), transport, clock, stateMachine: new RaftdStateMachine({}), random: seededRandom(id.charCodeAt(0)), tickMs: 100, electionTicks: 10, initialMembers });
    const a = await start('a', network.connect('a'), ['a']);
    nodes.push(a);
    await advanceUntil(clock, () => a.currentRole === 'leader', 'a leader');
    const bTransport = new LosableTransport(network.connect('b'));
    const b = await start('b', bTransport);
    nodes.push(b);
    const added = a.changeMembership({ changes: [{ type: 'addLearner', id: 'b' }] });
    await advanceUntil(clock, () => b.currentLeader === 'a', 'b following a');
    await added;

    bTransport.lost('a');
    await settle();
    expect(b.currentLeader).toBe('');
    expect(b.status().role).toBe('follower');

    await advanceUntil(clock, () => b.currentLeader === 'a', 'b following a again');
  });
});
