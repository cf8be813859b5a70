// Replication flow control on the leader: probe/replicate, the inflight window, message size
// limits, recovery from lost messages, and the bound on uncommitted data.
import { describe, expect, it } from 'vitest';
import { EntryType, MessageType, ProposalRejected, type Message } from '../../../core/raft/types.js';
import { bytes, cluster, type Network } from './harness.js';

const appsTo = (net: Network, to: string): Message[] =>
  net.inFlight.filter((m) => m.type === MessageType.App && m.to === to);

function progressOf(net: Network, leader: string, id: string) {
  return net.node(leader).raw.status().progress![id];
}

describe('replication', () => {
  it('a new leader appends an empty entry of its term', () => {
    const net = cluster(['1', '2', '3']);
    net.elect('1');
    const { storage } = net.node('2');
    const noop = storage.entries(4, 5)[0];
    expect(noop).toMatchObject({ term: 2, index: 4, type: EntryType.Normal });
    expect(noop.data.length).toBe(0);
  });

  it('probes one App at a time, then pipelines in replicate state up to maxInflightMsgs', () => {
    const net = cluster(['1', '2', '3'], { maxInflightMsgs: 3, maxSizePerMsg: 0 });
    net.elect('1');
    expect(progressOf(net, '1', '2').state).toBe('replicate');
    for (let i = 0; i < 5; i++) net.node('1').raw.propose(bytes(`p${i}`));
    net.processReady('1');
    // One App per proposal while the window has room; the rest waits for acknowledgements.
    expect(appsTo(net, '2').map((m) => m.entries.length)).toEqual([1, 1, 1]);
    expect(progressOf(net, '1', '2')).toMatchObject({ inflight: 3, next: 8 });
    net.stabilize();
    expect(net.node('2').applied).toEqual(['p0', 'p1', 'p2', 'p3', 'p4']);
    expect(progressOf(net, '1', '2')).toMatchObject({ inflight: 0, match: 9 });
  });

  it('sends the Apps of several proposals to a follower as one message, within maxSizePerMsg and message order', () => {
    const net = cluster(['1', '2', '3'], { maxSizePerMsg: 10 });
    net.elect('1');
    for (let i = 0; i < 7; i++) net.node('1').raw.propose(bytes(`p${i}`)); // 2 bytes each
    net.processReady('1');
    const apps = appsTo(net, '2');
    expect(apps.map((m) => m.entries.length)).toEqual([5, 2]);
    expect(apps[1].index).toBe(apps[0].index + 5);
    expect(apps[1].logTerm).toBe(apps[0].entries[4].term);
    net.stabilize();
    expect(net.node('2').applied).toEqual(['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6']);

    // A heartbeat queued in between keeps its place: the Apps around it stay apart.
    net.node('1').raw.propose(bytes('q0'));
    net.tick('1');
    net.node('1').raw.propose(bytes('q1'));
    net.processReady('1');
    expect(net.inFlight.filter((m) => m.to === '2').map((m) => `${m.type}:${m.entries.length}`)).toEqual(['App:1', 'Heartbeat:0', 'App:1']);
    net.stabilize();
    expect(net.node('3').applied.slice(-2)).toEqual(['q0', 'q1']);
  });

  it('with lazyCommit, followers learn the commit index from their next App or heartbeat, not an App of its own', () => {
    const net = cluster(['1', '2', '3'], { lazyCommit: true });
    net.elect('1');
    net.node('1').raw.propose(bytes('a'));
    net.stabilize();
    expect(net.node('1').applied).toEqual(['a']);
    expect(net.node('2').applied).toEqual([]);
    // No App went out only to carry the commit index.
    expect(net.inFlight).toEqual([]);

    net.node('1').raw.propose(bytes('b'));
    net.stabilize();
    expect(net.node('2').applied).toEqual(['a']); // the App with b carried a's commit

    net.tick('1'); // heartbeat
    net.stabilize();
    expect(net.node('2').applied).toEqual(['a', 'b']);
    expect(net.node('3').applied).toEqual(['a', 'b']);
  });

  it('a lagging follower is caught up in batches of at most maxSizePerMsg bytes', () => {
    const net = cluster(['1', '2', '3'], { maxSizePerMsg: 25 });
    net.elect('1');
    net.partition(['1', '2'], ['3']);
    for (let i = 0; i < 10; i++) net.node('1').raw.propose(bytes(`entry-${i}---`)); // 10 bytes each
    net.stabilize();
    net.heal();
    net.tick('1');
    const batches: number[] = [];
    for (let busy = true; busy; ) {
      const readies = net.ids().map((id) => net.processReady(id));
      busy = readies.some((rd) => rd !== undefined);
      for (const m of appsTo(net, '3')) if (m.entries.length > 0) batches.push(m.entries.length);
      if (net.deliver() > 0) busy = true;
    }
    expect(net.node('3').applied).toHaveLength(10);
    expect(Math.max(...batches)).toBe(2);
    expect(batches.reduce((a, b) => a + b, 0)).toBe(10);
  });

  it('recovers when every App in a full window is lost: a heartbeat response triggers an empty probe', () => {
    const net = cluster(['1', '2', '3'], { maxInflightMsgs: 1 });
    net.elect('1');
    net.node('1').raw.propose(bytes('lost'));
    net.processReady('1');
    net.drop(['2']);
    net.node('1').raw.propose(bytes('queued'));
    net.processReady('1');
    expect(appsTo(net, '2')).toEqual([]); // window full
    net.stabilize();
    expect(net.node('2').applied).toEqual([]);
    net.tick('1');
    net.stabilize();
    expect(net.node('2').applied).toEqual(['lost', 'queued']);
    expect(progressOf(net, '1', '2')).toMatchObject({ state: 'replicate', inflight: 0 });
  });

  it('falls back to probing a follower reported unreachable', () => {
    const net = cluster(['1', '2', '3']);
    net.elect('1');
    net.node('1').raw.reportUnreachable('2');
    expect(progressOf(net, '1', '2').state).toBe('probe');
    net.node('1').raw.propose(bytes('x'));
    net.stabilize();
    expect(progressOf(net, '1', '2').state).toBe('replicate');
  });

  it('refuses proposals beyond maxUncommittedEntriesSize until entries commit', () => {
    const net = cluster(['1', '2', '3'], { maxUncommittedEntriesSize: 20 });
    net.elect('1');
    net.partition(['1'], ['2', '3']);
    net.node('1').raw.propose(bytes('0123456789'));
    net.node('1').raw.propose(bytes('0123456789'));
    expect(() => net.node('1').raw.propose(bytes('x'))).toThrow(ProposalRejected);
    expect(() => net.node('1').raw.propose(bytes('x'))).toThrow(/too much uncommitted data \(20 bytes, limit 20\)/);
    net.heal();
    net.stabilize();
    net.tick('1');
    net.stabilize();
    net.node('1').raw.propose(bytes('accepted again'));
    net.stabilize();
    expect(net.node('2').applied).toEqual(['0123456789', '0123456789', 'accepted again']);
  });

  it('a restarted node keeps its term, vote and log, and does not vote twice in a term', () => {
    const net = cluster(['1', '2', '3']);
    net.node('2').raw.campaign();
    net.processReady('2');
    net.deliver(['3']);
    net.processReady('3'); // 3 persists its vote for 2 and replies
    const restarted = net.restart('3');
    expect(restarted.raw.status().hardState).toMatchObject({ term: 2, vote: '2' });
    net.node('1').raw.campaign();
    net.processReady('1');
    net.deliver(['3']);
    const [reply] = net.processReady('3')!.messages;
    expect(reply).toMatchObject({ type: MessageType.VoteResp, to: '1', reject: true });
  });
});
