// RaftNode's snapshots: the state machine is serialized on the apply path, but writing it and
// compacting the log happen off it, so writes keep committing while a snapshot is on its way to disk.
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../core/clock.js';
import { encodeKvCommand } from '../../../core/kv/kv-store.js';
import { RaftNode, SnapshotNotSavedError } from '../../../core/node/raft-node.js';
import type { RaftLogger, Snapshot } from '../../../core/raft/types.js';
import { seededRandom } from '../../../core/random.js';
import { RaftdStateMachine } from '../../../core/service/state-machine.js';
import { MemoryLogStore, MemorySnapshotStore } from '../../../core/storage/memory.js';
import { MemoryNetwork } from '../../../core/transport/memory.js';

/** A snapshot store whose writes finish only when the test says so. */
class GatedSnapshotStore extends MemorySnapshotStore {
  readonly pending: { snapshot: Snapshot; finish: () => void }[] = [];
  override save(snapshot: Snapshot): Promise<void> {
    return new Promise((resolve) => this.pending.push({ snapshot, finish: () => resolve(super.save(snapshot)) }));
  }
}

class CountingLogStore extends MemoryLogStore {
  readonly compactions: number[] = [];
  override compact(index: number): Promise<void> {
    this.compactions.push(index);
    return super.compact(index);
  }
}

// The node runs its ready loop from setImmediate, and a Ready may lead to another: a few turns.
const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
};
const put = (key: string) => encodeKvCommand({ op: 'put', key, value: new TextEncoder().encode(key) });

let node: RaftNode | null = null;
afterEach(async () => {
  for (const p of snapshotStore?.pending.splice(0) ?? []) p.finish();
  await node?.stop();
  node = null;
});
let snapshotStore: GatedSnapshotStore | null = null;

async function singleNode(clock: ManualClock, logStore: CountingLogStore, store: MemorySnapshotStore = new GatedSnapshotStore(), logger?: RaftLogger): Promise<RaftNode> {
  snapshotStore = store instanceof GatedSnapshotStore ? store : null;
  const stores = { snapshotStore: store };
  const network = new MemoryNetwork({ clock, random: seededRandom(1), latency: { min: 1, max: 1 } });
  const started = await RaftNode.start({
    id: 'a',
    logStore,
    ...stores,
    transport: network.connect('a'),
    clock,
    stateMachine: new RaftdStateMachine({}),
    random: seededRandom(2),
    initialMembers: ['a'],
    snapshotThreshold: 5,
    snapshotCatchUpEntries: 0,
    logger,
  });
  for (let t = 0; t < 5000 && started.status().role !== 'leader'; t += 100) {
    clock.advance(100);
    await settle();
  }
  expect(started.status().role).toBe('leader');
  return started;
}

describe('RaftNode snapshots', () => {
  it('keep committing writes while a snapshot is written, and compact only once it is on disk', async () => {
    const clock = new ManualClock();
    const logStore = new CountingLogStore();
    node = await singleNode(clock, logStore);
    for (let i = 0; i < 6; i++) await node.propose(put(`k${i}`));
    await settle();
    expect(snapshotStore!.pending).toHaveLength(1);
    const snapshotAt = snapshotStore!.pending[0].snapshot.metadata.index;
    expect(snapshotAt).toBeGreaterThanOrEqual(5);

    // The write is still on its way: later writes commit anyway, nothing is compacted yet.
    const later = await node.propose(put('during'));
    expect(later.index).toBeGreaterThan(snapshotAt);
    expect(node.status().snapshotIndex).toBeLessThan(snapshotAt);
    expect(logStore.compactions).toEqual([]);

    snapshotStore!.pending[0].finish();
    await settle();
    expect(node.status().snapshotIndex).toBe(snapshotAt);
    expect(logStore.compactions).toEqual([snapshotAt]);
    expect((await snapshotStore!.load())!.metadata.index).toBe(snapshotAt);
  });

  it('take one snapshot at a time: one asked for meanwhile follows the one being written', async () => {
    const clock = new ManualClock();
    node = await singleNode(clock, new CountingLogStore());
    for (let i = 0; i < 5; i++) await node.propose(put(`k${i}`));
    await settle();
    expect(snapshotStore!.pending).toHaveLength(1);
    await node.propose(put('more'));
    const asked = node.snapshotNow();
    await settle();
    expect(snapshotStore!.pending).toHaveLength(1);
    snapshotStore!.pending.shift()!.finish();
    await settle();
    expect(snapshotStore!.pending).toHaveLength(1);
    const second = snapshotStore!.pending.shift()!;
    second.finish();
    expect(await asked).toBe(second.snapshot.metadata.index);
  });

  it('stop() waits for a snapshot being written', async () => {
    const clock = new ManualClock();
    node = await singleNode(clock, new CountingLogStore());
    for (let i = 0; i < 5; i++) await node.propose(put(`k${i}`));
    await settle();
    let stopped = false;
    const stopping = node.stop().then(() => (stopped = true));
    await settle();
    expect(stopped).toBe(false);
    snapshotStore!.pending.shift()!.finish();
    await stopping;
    expect(stopped).toBe(true);
    node = null;
  });

  it('go on without compacting when a snapshot cannot be written (a full disk), and retry later', async () => {
    const clock = new ManualClock();
    const logStore = new CountingLogStore();
    const warnings: string[] = [];
    const logger: RaftLogger = { debug() {}, info() {}, warn: (m) => warnings.push(m) };
    let full = true;
    const store = new (class extends MemorySnapshotStore {
      override save(snapshot: Snapshot): Promise<void> {
        return full ? Promise.reject(new Error('ENOSPC: no space left on device')) : super.save(snapshot);
      }
    })();
    node = await singleNode(clock, logStore, store, logger);
    for (let i = 0; i < 6; i++) await node.propose(put(`k${i}`));
    await settle();
    expect(warnings.join('\n')).toMatch(/snapshot at index \d+ not saved: ENOSPC.*the log is kept whole, retrying in 10 s/);
    expect(node.status().role).toBe('leader');
    expect(node.status().snapshotIndex).toBe(0);
    expect(logStore.compactions).toEqual([]);
    await expect(node.snapshotNow()).rejects.toThrow(SnapshotNotSavedError); // asked for explicitly: tried at once

    full = false;
    for (let i = 0; i < 3; i++) await node.propose(put(`later${i}`));
    await settle();
    expect(node.status().snapshotIndex).toBe(0); // not before the retry delay
    clock.advance(10_000);
    await node.propose(put('after the delay'));
    await settle();
    const failedAt = Number(/snapshot at index (\d+) not saved/.exec(warnings[0])![1]);
    const { snapshotIndex } = node.status();
    expect(snapshotIndex).toBeGreaterThan(failedAt);
    expect(logStore.compactions).toEqual([snapshotIndex]);
    expect((await store.load())!.metadata.index).toBe(snapshotIndex);
  });
});

describe('RaftNode membership changes', () => {
  it('answer a change only once raft counts it applied, so the next change is not refused as pending', async () => {
    const clock = new ManualClock();
    node = await singleNode(clock, new CountingLogStore());
    const first = node.changeMembership({ changes: [{ type: 'addLearner', id: 'b' }] });
    // Writes in the same Readies: the change commits while later entries are still being written.
    const writes = Array.from({ length: 20 }, (_, i) => node!.propose(put(`w${i}`)));
    const second = first.then(() => node!.changeMembership({ changes: [{ type: 'remove', id: 'b' }] }));
    await Promise.all(writes);
    expect((await second).confState.learners).toEqual([]);
  });
});

/** A log store that, while `hold` is set, finishes each write only when the test releases it. */
class GatedLogStore extends MemoryLogStore {
  hold = false;
  readonly held: (() => void)[] = [];
  override save(...args: Parameters<MemoryLogStore['save']>): Promise<void> {
    if (!this.hold) return super.save(...args);
    return new Promise((resolve, reject) => this.held.push(() => super.save(...args).then(resolve, reject)));
  }
}

describe('RaftNode commits learned while it writes', () => {
  const nodes: RaftNode[] = [];
  let leaderStore = new GatedLogStore();
  afterEach(async () => {
    leaderStore.hold = false;
    for (const release of leaderStore.held.splice(0)) release();
    for (const n of nodes.splice(0)) await n.stop();
  });

  it('answer a write whose commit arrives while the next write is on its way to disk, but not that next one', async () => {
    const clock = new ManualClock();
    const network = new MemoryNetwork({ clock, random: seededRandom(3), latency: { min: 1, max: 1 } });
    leaderStore = new GatedLogStore();
    for (const id of ['a', 'b', 'c']) {
      nodes.push(
        await RaftNode.start({
          id,
          logStore: id === 'a' ? leaderStore : new MemoryLogStore(),
          snapshotStore: new MemorySnapshotStore(),
          transport: network.connect(id),
          clock,
          stateMachine: new RaftdStateMachine({}),
          random: seededRandom(id.charCodeAt(0)),
          initialMembers: ['a', 'b', 'c'],
          electionTicks: id === 'a' ? 3 : 30,
        }),
      );
    }
    const leader = nodes[0];
    for (let t = 0; t < 10_000 && leader.status().role !== 'leader'; t += 10) {
      clock.advance(10);
      await settle();
    }
    expect(leader.status().role).toBe('leader');
    for (let t = 0; t < 20; t++) {
      clock.advance(1);
      await settle();
    }

    leaderStore.hold = true;
    let firstDone = false;
    const first = leader.propose(put('first')).then((r) => ((firstDone = true), r));
    await settle();
    expect(leaderStore.held).toHaveLength(1);
    leaderStore.held.shift()!(); // "first" is on the leader's disk; its followers have not answered yet
    await settle();
    let secondDone = false;
    const second = leader.propose(put('second')).then((r) => ((secondDone = true), r));
    await settle();
    expect(leaderStore.held).toHaveLength(1); // "second" is being written
    for (let t = 0; t < 20 && !firstDone; t++) {
      clock.advance(1);
      await settle();
    }
    // The followers' acknowledgements committed "first": answered without waiting for "second"'s write.
    expect(firstDone).toBe(true);
    expect((await first).index).toBeGreaterThan(0);
    // Both followers hold "second" too, but it is not on the leader's own disk: not answered yet.
    expect(secondDone).toBe(false);
    leaderStore.hold = false;
    leaderStore.held.shift()!();
    for (let t = 0; t < 20 && !secondDone; t++) {
      clock.advance(1);
      await settle();
    }
    expect((await second).index).toBe((await first).index + 1);
  });
});
