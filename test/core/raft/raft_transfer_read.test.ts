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

  it('is refused on a follower for another node: a forwarded request may only name its sender, the transferee', () => {
    const net = cluster(['1', '2', '3']);
    net.elect('1');
    expect(() => net.node('2').raw.transferLeadership('3')).toThrow(/not the leader; ask the leader \(1\)/);
    net.stabilize();
    expect(net.leader()).toBe('1');
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
  it('the leader answers after a quorum confirmed its leadership with a heartbeat round naming the request\'s round', () => {
    const net = cluster(['1', '2', '3']);
    net.elect('1');
    net.node('1').raw.propose(bytes('x'));
    net.stabilize();
    net.node('1').raw.readIndex(bytes('read-1'));
    const rd = net.processReady('1')!;
    expect(rd.readStates).toEqual([]);
    expect(rd.messages.map((m) => [m.type, m.to, str(m.context!)])).toEqual([
      [MessageType.Heartbeat, '2', '1'],
      [MessageType.Heartbeat, '3', '1'],
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

  it('a request reaching a new leader before its first commit of the term is held, then answered right after that commit', () => {
    const net = cluster(['1', '2', '3']);
    net.node('1').raw.campaign();
    while (status(net, '1').softState.role !== 'leader') {
      net.processReady('1');
      net.deliver(['2', '3']);
      net.processReady('2');
      net.processReady('3');
      net.deliver(['1']);
    }
    // The no-op goes out; 3 learns who leads from it and asks for a read before anyone acknowledged it.
    net.processReady('1');
    net.deliver(['3']);
    net.node('3').raw.readIndex(bytes('forwarded'));
    net.node('1').raw.readIndex(bytes('local'));
    net.processReady('3');
    const forwarded = net.inFlight.filter((m) => m.type === MessageType.ReadIndex);
    expect(forwarded.map((m) => [m.from, m.to])).toEqual([['3', '1']]);
    net.inFlight = net.inFlight.filter((m) => m.type !== MessageType.ReadIndex);
    net.node('1').raw.step(forwarded[0]);
    // Nothing is committed in term 2 yet: no answer, and no heartbeat round (its index could be stale).
    expect(status(net, '1').hardState.commit).toBe(3);
    expect(net.processReady('1')?.readStates ?? []).toEqual([]);
    expect(net.inFlight.filter((m) => m.type === MessageType.Heartbeat)).toEqual([]);
    // The no-op commits at 4; nobody asks again, and both are answered at that index.
    net.stabilize();
    expect(status(net, '1').hardState.commit).toBe(4);
    expect(net.node('1').readStates.map((rs) => [rs.index, str(rs.context)])).toEqual([[4, 'local']]);
    expect(net.node('3').readStates.map((rs) => [rs.index, str(rs.context)])).toEqual([[4, 'forwarded']]);
  });

  it('a duplicated, redelivered request and a stale duplicate acknowledgement never release a later read', () => {
    const net = cluster(['1', '2', '3']);
    net.elect('1');
    net.node('1').raw.propose(bytes('x'));
    net.stabilize();
    // 3 reads through the leader; the network keeps a copy of its request and of its heartbeat answer.
    net.node('3').raw.readIndex(bytes('a'));
    net.processReady('3');
    const requestCopy = { ...net.inFlight.find((m) => m.type === MessageType.ReadIndex)! };
    net.deliver(['1']);
    net.processReady('1');
    net.deliver(['2', '3']);
    net.processReady('2');
    net.processReady('3');
    const ackCopy = { ...net.inFlight.find((m) => m.type === MessageType.HeartbeatResp && m.from === '3')! };
    net.stabilize();
    expect(net.node('3').readStates.map((rs) => [rs.index, str(rs.context)])).toEqual([[5, 'a']]);
    // 1 is cut off; 2 and 3 elect 2, which commits a write.
    net.partition(['1'], ['2', '3']);
    net.node('2').raw.campaign();
    net.stabilize(['2', '3']);
    net.node('2').raw.propose(bytes('y'));
    net.stabilize(['2', '3']);
    const written = status(net, '2').hardState.commit;
    expect(net.node('2').applied).toEqual(['x', 'y']);
    // Only now a client reads at 1, which still thinks it leads term 2; then the stale copies arrive.
    net.node('1').raw.readIndex(bytes('b'));
    net.processReady('1');
    net.node('1').raw.step(requestCopy);
    net.node('1').raw.step(ackCopy);
    net.processReady('1');
    // Releasing 'b' would serve index 5 after 'y' (at 7) was acknowledged: a stale read.
    expect(written).toBeGreaterThan(5);
    expect(net.node('1').readStates).toEqual([]);
    expect(net.inFlight.filter((m) => m.type === MessageType.ReadIndexResp)).toEqual([]);
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
