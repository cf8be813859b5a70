// Membership changes end to end: single-server changes, learners, joint consensus, removing the
// leader, and the requests raft must refuse.
import { describe, expect, it } from 'vitest';
import { ProposalRejected, type ConfChange, type NodeId } from '../../../core/raft/types.js';
import { bytes, cluster, type Network } from './harness.js';

const v = (id: NodeId) => ({ type: 'addVoter' as const, id });
const l = (id: NodeId) => ({ type: 'addLearner' as const, id });
const r = (id: NodeId) => ({ type: 'remove' as const, id });

function change(net: Network, leader: NodeId, cc: ConfChange): void {
  net.node(leader).raw.proposeConfChange(cc);
  net.stabilize();
}

const role = (net: Network, id: NodeId) => net.node(id).raw.status().softState.role;

describe('single-server changes', () => {
  it('a new voter replays the log and learns the whole membership from it', () => {
    const net = cluster(['1', '2', '3']);
    net.elect('1');
    net.node('1').raw.propose(bytes('before 4'));
    net.add('4');
    change(net, '1', { changes: [v('4')] });
    for (const id of net.ids()) expect(net.node(id).confState.voters, id).toEqual(['1', '2', '3', '4']);
    expect(net.node('4').applied).toEqual(['before 4']);
  });

  it('adds and removes while a minority is down', () => {
    const net = cluster(['1', '2', '3', '4', '5']);
    net.elect('1');
    net.partition(['1', '2', '3', '4', '6'], ['5']);
    net.add('6');
    change(net, '1', { changes: [v('6')] });
    expect(net.node('1').confState.voters).toEqual(['1', '2', '3', '4', '5', '6']);
    change(net, '1', { changes: [r('5')] });
    net.node('1').raw.propose(bytes('after'));
    net.stabilize();
    for (const id of ['1', '2', '3', '4', '6']) {
      expect(net.node(id).confState.voters, id).toEqual(['1', '2', '3', '4', '6']);
      expect(net.node(id).applied, id).toEqual(['after']);
    }
  });

  it('removing the leader: it steps down once the change is applied, stops heartbeats, and the rest elect a successor', () => {
    const net = cluster(['1', '2', '3']);
    net.elect('1');
    change(net, '1', { changes: [r('1')] });
    expect(net.node('1').raw.status().softState).toEqual({ role: 'follower', leader: '' });
    expect(net.node('2').confState.voters).toEqual(['2', '3']);
    net.tick('1', 30);
    expect(net.node('1').raw.hasReady()).toBe(false); // no heartbeats, no campaign
    net.tickElection('2');
    net.stabilize();
    expect(net.leader()).toBe('2');
    net.node('2').raw.propose(bytes('without 1'));
    net.stabilize();
    expect(net.node('3').applied).toEqual(['without 1']);
  });

  it('a leader re-elected with its own demotion still in its log takes no writes', () => {
    const net = cluster(['1', '2', '3']);
    net.elect('1');
    net.partition(['1'], ['2', '3']);
    net.node('1').raw.proposeConfChange({ changes: [l('1')] }); // appended on 1 only
    net.stabilize();
    net.partition(['1', '2'], ['3']);
    net.node('2').raw.campaign(); // a higher term deposes 1; its longer log keeps it from voting for 2
    net.stabilize();
    net.heal();
    net.node('1').raw.campaign();
    for (let round = 0; round < 10 && role(net, '1') !== 'leader'; round++) {
      for (const id of net.ids()) net.processReady(id);
      net.deliver();
    }
    expect(role(net, '1')).toBe('leader');
    // A write appended now would be held by 1 alone once the demotion commits and 1 steps down:
    // its longer log would refuse the remaining voters its vote, and as a learner it cannot campaign.
    expect(() => net.node('1').raw.propose(bytes('late write'))).toThrow(/leaving the configuration/);
    net.stabilize();
    expect(net.node('3').confState).toMatchObject({ voters: ['2', '3'], learners: ['1'] });
  });

  it('a node that is not a voter of its configuration never campaigns', () => {
    const net = cluster(['1', '2', '3']);
    net.add('4'); // empty configuration
    net.tick('4', 100);
    expect(role(net, '4')).toBe('follower');
    expect(net.node('4').raw.status().hardState.term).toBe(0);
  });

  it('a node with committed but unapplied configuration changes does not campaign', () => {
    const net = cluster(['1', '2', '3']);
    net.elect('1');
    net.node('1').raw.proposeConfChange({ changes: [v('4')] });
    net.processReady('1');
    net.deliver(['2']);
    net.processReady('2');
    net.deliver(['1']);
    net.processReady('1');
    // 2 learns that the change is committed but is not given the chance to apply it.
    net.deliver(['2']);
    expect(net.node('2').raw.status().hardState.commit).toBe(5);
    expect(net.node('2').raw.status().applied).toBe(4);
    net.node('2').raw.campaign();
    expect(role(net, '2')).toBe('follower');
    expect(net.trace.some((line) => line.includes('committed configuration changes are not applied yet'))).toBe(true);
  });
});

describe('learners', () => {
  it('receive the log, never vote or campaign, are not counted in the quorum, and can be promoted', () => {
    const net = cluster(['1', '2', '3']);
    net.elect('1');
    net.add('4');
    change(net, '1', { changes: [l('4')] });
    net.node('1').raw.propose(bytes('to the learner'));
    net.stabilize();
    expect(net.node('4').applied).toEqual(['to the learner']);
    expect(net.node('1').raw.status().progress!['4'].isLearner).toBe(true);
    // Not counted: with 2 and 3 gone, 1 and the learner cannot commit.
    net.partition(['1', '4'], ['2'], ['3']);
    net.node('1').raw.propose(bytes('stuck'));
    net.stabilize();
    expect(net.node('4').applied).toEqual(['to the learner']);
    // Never campaigns.
    net.tick('4', 100);
    expect(role(net, '4')).toBe('follower');
    // Promoted, it counts: 1, 2 and 4 are a majority of four voters.
    net.heal();
    change(net, '1', { changes: [v('4')] });
    expect(net.node('1').confState).toMatchObject({ voters: ['1', '2', '3', '4'], learners: [] });
    net.partition(['1', '2', '4'], ['3']);
    net.node('1').raw.propose(bytes('with 4 voting'));
    net.stabilize();
    expect(net.node('4').applied).toEqual(['to the learner', 'stuck', 'with 4 voting']);
    // And it may now become leader.
    net.partition(['2', '3', '4'], ['1']);
    net.elect('4');
    expect(net.leader()).toBe('4');
  });
});

describe('joint consensus', () => {
  it('enters C_old,new with several changes and leaves it automatically', () => {
    const net = cluster(['1', '2', '3']);
    net.elect('1');
    net.add('4');
    net.add('5');
    net.node('1').raw.proposeConfChange({ changes: [v('4'), v('5'), r('3')] });
    const seen: string[] = [];
    for (let busy = true; busy; ) {
      const readies = net.ids().map((id) => net.processReady(id));
      busy = readies.some((rd) => rd !== undefined) || net.deliver() > 0;
      const cs = net.node('1').confState;
      seen.push(`${cs.voters.join(',')}|${cs.votersOutgoing.join(',')}`);
    }
    expect([...new Set(seen)]).toEqual(['1,2,3|', '1,2,4,5|1,2,3', '1,2,4,5|']);
    for (const id of ['1', '2', '4', '5']) expect(net.node(id).confState.voters, id).toEqual(['1', '2', '4', '5']);
  });

  it('needs a majority of both halves to commit and to elect, until left explicitly', () => {
    const net = cluster(['1', '2', '3']);
    net.elect('1');
    net.add('4');
    net.add('5');
    change(net, '1', { changes: [v('4'), v('5'), r('2'), r('3')], transition: 'explicit' });
    expect(net.node('1').confState).toMatchObject({ voters: ['1', '4', '5'], votersOutgoing: ['1', '2', '3'], autoLeave: false });
    // C_new alone is not enough.
    net.partition(['1', '4', '5'], ['2'], ['3']);
    net.node('1').raw.propose(bytes('needs C_old too'));
    net.stabilize();
    expect(net.node('4').applied).toEqual([]);
    net.partition(['1', '2', '4', '5'], ['3']);
    net.tick('1');
    net.stabilize();
    expect(net.node('4').applied).toEqual(['needs C_old too']);
    // Nor does C_old alone elect anyone: 2 gets 2's and 3's votes (C_old) but not C_new's.
    net.partition(['2', '3'], ['1', '4', '5']);
    net.tick('2', 30);
    net.tick('3', 30);
    net.stabilize();
    expect(role(net, '2')).not.toBe('leader');
    expect(role(net, '3')).not.toBe('leader');
    // Leaving is explicit here: an empty change.
    net.heal();
    // 2 and 3 campaigned up to term 4 (1, the old leader, is stale to them): 4 needs rounds to overtake it.
    for (let round = 0; round < 5 && role(net, '4') !== 'leader'; round++) {
      net.tickElection('4');
      net.stabilize();
    }
    expect(role(net, '4')).toBe('leader');
    change(net, '4', { changes: [] });
    for (const id of ['1', '4', '5']) expect(net.node(id).confState, id).toMatchObject({ voters: ['1', '4', '5'], votersOutgoing: [] });
  });

  it('demotes a voter to learner only when the joint configuration is left', () => {
    const net = cluster(['1', '2', '3']);
    net.elect('1');
    change(net, '1', { changes: [l('3')], transition: 'explicit' });
    expect(net.node('2').confState).toMatchObject({ voters: ['1', '2'], votersOutgoing: ['1', '2', '3'], learnersNext: ['3'] });
    change(net, '1', { changes: [] });
    expect(net.node('2').confState).toMatchObject({ voters: ['1', '2'], votersOutgoing: [], learners: ['3'], learnersNext: [] });
  });
});

describe('refused changes', () => {
  function leaderOf3(): Network {
    const net = cluster(['1', '2', '3']);
    net.elect('1');
    return net;
  }

  it.each<[string, ConfChange, RegExp]>([
    ['adding an existing voter', { changes: [v('2')] }, /node 2 is already a voter/],
    ['removing an unknown node', { changes: [r('9')] }, /node 9 is not a member/],
    ['leaving a joint configuration when not joint', { changes: [] }, /not joint/],
    ['a change naming a node twice', { changes: [v('4'), r('4')] }, /appears more than once/],
  ])('refuses %s', (_name, cc, reason) => {
    const net = leaderOf3();
    expect(() => net.node('1').raw.proposeConfChange(cc)).toThrow(reason);
    expect(() => net.node('1').raw.proposeConfChange(cc)).toThrow(ProposalRejected);
  });

  it('refuses removing the last voter', () => {
    const net = cluster(['1']);
    net.elect('1');
    expect(() => net.node('1').raw.proposeConfChange({ changes: [r('1')] })).toThrow(/without voters/);
  });

  it('refuses a second change while one is pending, and accepts it once applied', () => {
    const net = leaderOf3();
    net.node('1').raw.proposeConfChange({ changes: [v('4')] });
    expect(() => net.node('1').raw.proposeConfChange({ changes: [v('5')] })).toThrow(/already pending|may still be pending/);
    net.stabilize();
    net.node('1').raw.proposeConfChange({ changes: [v('5')] });
  });

  it('refuses entering a joint configuration when already joint', () => {
    const net = leaderOf3();
    change(net, '1', { changes: [v('4')], transition: 'explicit' });
    expect(() => net.node('1').raw.proposeConfChange({ changes: [v('5'), v('6')] })).toThrow(/already joint/);
    expect(() => net.node('1').raw.proposeConfChange({ changes: [v('5')] })).toThrow(/configuration is joint/);
  });

  it('refuses a conf change on a follower, naming the leader', () => {
    const net = leaderOf3();
    expect(() => net.node('2').raw.proposeConfChange({ changes: [v('4')] })).toThrow(/leader, node 1/);
  });

  it('skips a committed change that is invalid (it bypassed the proposal checks), keeping the configuration', () => {
    const net = leaderOf3();
    const before = net.node('2').confState;
    expect(net.node('2').raw.applyConfChange({ changes: [r('9')] })).toEqual(before);
    expect(net.node('2').raw.status().config).toEqual(before);
    expect(net.trace.some((line) => line.includes('skipped a committed configuration change: node 9 is not a member'))).toBe(true);
  });
});
