// Leadership transfer and linearizable reads (ReadIndex).
import { describe, expect, it } from 'vitest';
import { MessageType } from '../../../core/raft/types.js';
import { bytes, cluster, str, type Network } from './harness.js';

const status = (net: Network, id: string) => net.node(id).raw.status();

describe('leadership transfer', () => {
  it('brings a lagging target up to date, then it takes over at once', () => {
    const net = cluster(['1', '2', '3']);
    net.elect('1');
    net.partition(['1', '2'], ['3']);
    net.node('1').raw.propose(bytes('3 missed this'));
    net.stabilize();
    net.heal();
    net.node('1').raw.transferLeadership('3');
    expect(status(net, '1').leadTransferee).toBe('3');
    expect(() => net.node('1').raw.propose(bytes('during'))).toThrow(/being transferred from 1 to 3/);
    net.stabilize();
    expect(net.leader()).toBe('3');
    expect(status(net, '3').hardState.term).toBe(3);
    expect(net.node('3').applied).toEqual(['3 missed this']);
    expect(net.trace.some((l) => l.includes('1 sent TimeoutNow to 3: its log caught up'))).toBe(true);
  });

  it('can be requested on a follower, which forwards it', () => {
    const net = cluster(['1', '2', '3']);
    net.elect('1');
    net.node('2').raw.transferLeadership('2');
    net.stabilize();
    expect(net.leader()).toBe('2');
  });

  it('bypasses pre-vote and the followers\' leader lease', () => {
    const net = cluster(['1', '2', '3'], { preVote: true, checkQuorum: true });
    net.elect('1');
    net.takeTrace();
    net.node('1').raw.transferLeadership('2');
    net.stabilize();
    expect(net.leader()).toBe('2');
    expect(net.trace.filter((l) => l.includes('PreVote'))).toEqual([]);
  });

  it('is aborted after an election timeout if the target does not take over', () => {
    const net = cluster(['1', '2', '3']);
    net.elect('1');
    net.partition(['1', '2'], ['3']);
    net.node('1').raw.transferLeadership('3');
    net.stabilize();
    net.tick('1', 9);
    expect(status(net, '1').leadTransferee).toBe('3');
    net.tick('1');
    expect(status(net, '1').leadTransferee).toBe('');
    net.node('1').raw.propose(bytes('after the abort'));
    net.stabilize();
    expect(net.node('2').applied).toEqual(['after the abort']);
    expect(net.leader()).toBe('1');
  });

  it('is refused to a learner (not a voter)', () => {
    const net = cluster(['1', '2']);
    net.elect('1');
    net.add('3');
    net.node('1').raw.proposeConfChange({ changes: [{ type: 'addLearner', id: '3' }] });
    net.stabilize();
    expect(() => net.node('1').raw.transferLeadership('3')).toThrow(/node 3 is not a voter/);
  });
});

describe('ReadIndex', () => {
  it('the leader answers after a quorum confirmed its leadership with a heartbeat round', () => {
    const net = cluster(['1', '2', '3']);
    net.elect('1');
    net.node('1').raw.propose(bytes('x'));
    net.stabilize();
    net.node('1').raw.readIndex(bytes('read-1'));
    const rd = net.processReady('1')!;
    expect(rd.readStates).toEqual([]);
    expect(rd.messages.map((m) => [m.type, m.to, str(m.context!)])).toEqual([
      [MessageType.Heartbeat, '2', 'read-1'],
      [MessageType.Heartbeat, '3', 'read-1'],
    ]);
    net.deliver(['2']);
    net.processReady('2');
    net.deliver(['1']);
    expect(net.processReady('1')!.readStates.map((rs) => [rs.index, str(rs.context)])).toEqual([[5, 'read-1']]);
  });

  it('a follower forwards the request and gets the leader\'s index back', () => {
    const net = cluster(['1', '2', '3']);
    net.elect('1');
    net.node('1').raw.propose(bytes('x'));
    net.stabilize();
    net.node('3').raw.readIndex(bytes('on-3'));
    net.stabilize();
    expect(net.node('3').readStates.map((rs) => [rs.index, str(rs.context)])).toEqual([[5, 'on-3']]);
    expect(net.node('1').readStates).toEqual([]);
  });

  it('a leader cut off from the quorum never answers', () => {
    const net = cluster(['1', '2', '3']);
    net.elect('1');
    net.partition(['1'], ['2', '3']);
    net.node('1').raw.readIndex(bytes('stale?'));
    net.tick('1', 5);
    net.stabilize();
    expect(net.node('1').readStates).toEqual([]);
  });

  it('is refused before the leader has committed an entry of its term', () => {
    const net = cluster(['1', '2', '3']);
    net.node('1').raw.campaign();
    while (status(net, '1').softState.role !== 'leader') {
      net.processReady('1');
      net.deliver(['2', '3']);
      net.processReady('2');
      net.processReady('3');
      net.deliver(['1']);
    }
    expect(() => net.node('1').raw.readIndex(bytes('early'))).toThrow(/has not yet committed an entry of its term 2/);
    net.stabilize();
    net.node('1').raw.readIndex(bytes('later'));
    net.stabilize();
    expect(net.node('1').readStates.map((rs) => str(rs.context))).toEqual(['later']);
  });

  it("with 'lease' the leader answers at once, without a heartbeat round", () => {
    const net = cluster(['1', '2', '3'], { checkQuorum: true, readOnlyOption: 'lease' });
    net.elect('1');
    net.node('1').raw.readIndex(bytes('fast'));
    const rd = net.processReady('1')!;
    expect(rd.readStates.map((rs) => [rs.index, str(rs.context)])).toEqual([[4, 'fast']]);
    expect(rd.messages).toEqual([]);
  });

  it('a single-voter leader answers at once', () => {
    const net = cluster(['1']);
    net.elect('1');
    net.node('1').raw.readIndex(bytes('alone'));
    expect(net.processReady('1')!.readStates.map((rs) => str(rs.context))).toEqual(['alone']);
  });
});
