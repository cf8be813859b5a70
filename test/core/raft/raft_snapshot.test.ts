// Snapshots: a follower whose next entries were compacted away is sent the snapshot instead.
import { describe, expect, it } from 'vitest';
import { MessageType } from '../../../core/raft/types.js';
import { bytes, cluster, type Network } from './harness.js';

/** Snapshot the leader's state machine at its applied index and compact its log up to there. */
function compact(net: Network, id: string): number {
  const node = net.node(id);
  node.storage.createSnapshot(node.appliedIndex, node.confState, bytes(JSON.stringify(node.applied)));
  node.storage.compact(node.appliedIndex);
  return node.appliedIndex;
}

const progressOf = (net: Network, id: string) => net.node('1').raw.status().progress![id];

/** Run until the leader sends 3 a snapshot, which the network holds back. */
function holdSnapshot(net: Network): void {
  net.tick('1');
  for (let round = 0; round < 20 && progressOf(net, '3').state !== 'snapshot'; round++) {
    net.ids().forEach((id) => net.processReady(id));
    net.deliver();
  }
  net.processReady('1');
  const snaps = net.inFlight.filter((m) => m.type === MessageType.Snap);
  expect(snaps.map((m) => m.to)).toEqual(['3']);
  net.inFlight = net.inFlight.filter((m) => m.type !== MessageType.Snap);
}

/** 3 missed five entries that the leader then compacted away. */
function laggingFollower(): Network {
  const net = cluster(['1', '2', '3']);
  net.elect('1');
  net.partition(['1', '2'], ['3']);
  for (let i = 0; i < 5; i++) net.node('1').raw.propose(bytes(`v${i}`));
  net.stabilize();
  expect(compact(net, '1')).toBe(9);
  net.heal();
  return net;
}

describe('snapshots', () => {
  it('are sent to a follower whose next entries were compacted, which restores from them', () => {
    const net = laggingFollower();
    net.tick('1');
    net.stabilize();
    const snap = net.trace.find((l) => l.startsWith('  send 1->3 Snap'));
    expect(snap).toBe('  send 1->3 Snap term=2 snapshot=2/9 voters=(1,2,3)');
    const follower = net.node('3');
    expect(follower.storage.snapshot().metadata.index).toBe(9);
    expect(follower.raw.status()).toMatchObject({ applied: 9, firstIndex: 10, hardState: { commit: 9 } });
    expect(follower.applied).toEqual(['v0', 'v1', 'v2', 'v3', 'v4']);
    expect(progressOf(net, '3')).toMatchObject({ state: 'replicate', match: 9 });
    // Replication continues from the snapshot.
    net.node('1').raw.propose(bytes('after'));
    net.stabilize();
    expect(follower.applied.at(-1)).toBe('after');
  });

  it('hold the follower in snapshot state until it answers or the send is reported', () => {
    const net = laggingFollower();
    holdSnapshot(net);
    expect(progressOf(net, '3')).toMatchObject({ state: 'snapshot', next: 10 });
    // Nothing else goes to 3 meanwhile.
    net.node('1').raw.propose(bytes('while snapshotting'));
    net.processReady('1');
    expect(net.inFlight.filter((m) => m.to === '3')).toEqual([]);
    // The transport reports the snapshot lost: back to probing, after the next heartbeat response.
    net.node('1').raw.reportSnapshot('3', false);
    expect(progressOf(net, '3').state).toBe('probe');
    net.tick('1');
    net.stabilize();
    expect(net.node('3').applied).toEqual(['v0', 'v1', 'v2', 'v3', 'v4', 'while snapshotting']);
  });

  it('a successful report resumes probing just past the snapshot', () => {
    const net = laggingFollower();
    holdSnapshot(net);
    net.node('1').raw.reportSnapshot('3', true);
    expect(progressOf(net, '3')).toMatchObject({ state: 'probe', next: 10 });
  });

  it('a member added after compaction joins from the snapshot and learns the configuration from it', () => {
    const net = cluster(['1', '2', '3']);
    net.elect('1');
    net.add('4');
    net.partition(['1', '2', '3'], ['4']);
    net.node('1').raw.proposeConfChange({ changes: [{ type: 'addLearner', id: '4' }] });
    net.node('1').raw.propose(bytes('state'));
    net.stabilize();
    compact(net, '1');
    net.heal();
    net.tick('1');
    net.stabilize();
    const joiner = net.node('4');
    expect(joiner.confState).toMatchObject({ voters: ['1', '2', '3'], learners: ['4'] });
    expect(joiner.raw.status().config).toEqual(joiner.confState);
    expect(joiner.applied).toEqual(['state']);
    expect(net.trace.filter((l) => l.startsWith('  1->4 Snap'))).toHaveLength(1);
  });

  it('are accepted by a member whose addition came after them, which then replays its own addition', () => {
    const net = cluster(['1', '2', '3']);
    net.elect('1');
    net.node('1').raw.propose(bytes('state'));
    net.stabilize();
    compact(net, '1');
    net.add('4');
    net.node('1').raw.proposeConfChange({ changes: [{ type: 'addLearner', id: '4' }] });
    net.stabilize();
    const joiner = net.node('4');
    expect(joiner.storage.snapshot().metadata.confState.learners).toEqual([]);
    expect(joiner.confState).toMatchObject({ voters: ['1', '2', '3'], learners: ['4'] });
    expect(joiner.applied).toEqual(['state']);
  });
});
