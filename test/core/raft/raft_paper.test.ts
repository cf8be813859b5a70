// Tests named after the Raft paper (Ongaro & Ousterhout) and Ongaro's thesis, in the spirit of
// etcd-io/raft's raft_paper_test.go: each checks one rule of the protocol through the public API.
import { describe, expect, it } from 'vitest';
import { message } from '../../../core/raft/raft.js';
import { MessageType, type Message, type NodeId } from '../../../core/raft/types.js';
import { Network, bytes, cluster, storageWith } from './harness.js';

/** Terms of a node's whole log. */
function logTerms(net: Network, id: NodeId): number[] {
  const { storage } = net.node(id);
  return storage.entries(storage.firstIndex(), storage.lastIndex() + 1).map((e) => e.term);
}

/** Run the driver once on `id` and take what it sent. */
function sent(net: Network, id: NodeId): Message[] {
  const rd = net.processReady(id);
  net.inFlight = net.inFlight.filter((m) => m.from !== id);
  return rd?.messages ?? [];
}

/** A lone node on a prepared log; its peers are only simulated by the messages a test steps into it. */
function loneNode(terms: number[], term: number, commit = 0, voters: NodeId[] = ['1', '2', '3']): Network {
  const net = new Network();
  net.start('1', storageWith({ voters }, terms, { term, commit }));
  return net;
}

describe('§5.2 leader election', () => {
  it('a follower that hears nothing campaigns after a timeout in [T, 2T), re-randomized each time', () => {
    const T = 10;
    const intervals: number[] = [];
    const net = loneNode([], 0, 0);
    const node = net.node('1').raw;
    let ticks = 0;
    let term = node.status().hardState.term;
    while (intervals.length < 300) {
      node.tick();
      ticks++;
      if (node.status().hardState.term !== term) {
        term = node.status().hardState.term;
        intervals.push(ticks);
        ticks = 0;
      }
    }
    expect(Math.min(...intervals)).toBeGreaterThanOrEqual(T);
    expect(Math.max(...intervals)).toBeLessThan(2 * T);
    // Every value of the range occurs: the timeout really is drawn anew for each election.
    expect(new Set(intervals).size).toBe(T);
  });

  it('a candidate votes for itself, increments its term and asks every other voter', () => {
    const net = loneNode([1, 1], 1);
    net.node('1').raw.campaign();
    const msgs = sent(net, '1');
    const status = net.node('1').raw.status();
    expect(status.softState.role).toBe('candidate');
    expect(status.hardState).toMatchObject({ term: 2, vote: '1' });
    expect(msgs.map((m) => [m.type, m.to, m.term, m.logTerm, m.index])).toEqual([
      [MessageType.Vote, '2', 2, 1, 2],
      [MessageType.Vote, '3', 2, 1, 2],
    ]);
  });

  it.each<[string, string, boolean[]]>([
    ['a majority of votes', 'leader', [true]],
    ['a majority of rejections', 'follower', [false, false]],
    ['neither yet', 'candidate', [false]],
  ])('a candidate with %s becomes %s', (_name, role, votes) => {
    const net = loneNode([], 0);
    net.node('1').raw.campaign();
    sent(net, '1');
    votes.forEach((granted, i) =>
      net.node('1').raw.step(message({ type: MessageType.VoteResp, from: String(i + 2), to: '1', term: 1, reject: !granted })),
    );
    expect(net.node('1').raw.status().softState.role).toBe(role);
  });

  it('a node grants at most one vote per term (and repeats it to the same candidate)', () => {
    const net = loneNode([], 0);
    const vote = (from: NodeId) => {
      net.node('1').raw.step(message({ type: MessageType.Vote, from, to: '1', term: 1 }));
      return sent(net, '1').map((m) => [m.to, m.reject]);
    };
    expect(vote('2')).toEqual([['2', false]]);
    expect(vote('3')).toEqual([['3', true]]);
    expect(vote('2')).toEqual([['2', false]]);
    expect(net.node('1').raw.status().hardState).toMatchObject({ term: 1, vote: '2' });
  });

  it.each<[string, number, number, boolean]>([
    ['a higher last term', 3, 1, true],
    ['the same last term and a longer log', 2, 4, true],
    ['the same last term and an equal log', 2, 3, true],
    ['the same last term and a shorter log', 2, 2, false],
    ['a lower last term and a longer log', 1, 9, false],
  ])('§5.4.1 grants a vote to a candidate with %s only if it is at least as up to date', (_name, logTerm, index, granted) => {
    const net = loneNode([1, 2, 2], 2);
    net.node('1').raw.step(message({ type: MessageType.Vote, from: '2', to: '1', term: 3, logTerm, index }));
    expect(sent(net, '1').map((m) => m.reject)).toEqual([!granted]);
  });

  it('a candidate that hears from a leader of its term becomes its follower', () => {
    const net = loneNode([], 0);
    net.node('1').raw.campaign();
    sent(net, '1');
    net.node('1').raw.step(message({ type: MessageType.App, from: '2', to: '1', term: 1 }));
    expect(net.node('1').raw.status().softState).toEqual({ role: 'follower', leader: '2' });
  });

  it('a leader sends heartbeats every heartbeat tick, committing only what each follower has', () => {
    const net = cluster(['1', '2', '3']);
    net.elect('1');
    net.partition(['1', '2'], ['3']);
    net.node('1').raw.propose(bytes('x'));
    net.stabilize();
    net.node('1').raw.tick();
    const beats = sent(net, '1').filter((m) => m.type === MessageType.Heartbeat);
    expect(beats.map((m) => [m.to, m.commit])).toEqual([
      ['2', 5],
      ['3', 4],
    ]);
  });
});

describe('§5.3 log replication', () => {
  it('Figure 7: a new leader brings each of the follower logs (a)-(f) in line with its own', () => {
    const leader = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
    const followers: Record<string, { terms: number[]; rejections: number }> = {
      a: { terms: [1, 1, 1, 4, 4, 5, 5, 6, 6], rejections: 1 },
      b: { terms: [1, 1, 1, 4], rejections: 1 },
      c: { terms: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6], rejections: 0 },
      d: { terms: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7], rejections: 0 },
      e: { terms: [1, 1, 1, 4, 4, 4, 4], rejections: 1 },
      f: { terms: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3], rejections: 1 },
    };
    for (const [name, follower] of Object.entries(followers)) {
      const net = new Network();
      net.start('1', storageWith({ voters: ['1', '2', '3'] }, leader, { term: 7, commit: 3 }));
      net.start('2', storageWith({ voters: ['1', '2', '3'] }, follower.terms, { commit: 3 }));
      // Node 3 has an empty log: its vote makes 1 leader even when 2's log is "more up to date" (d).
      net.start('3', storageWith({ voters: ['1', '2', '3'] }));
      net.elect('1');
      expect(net.leader(), name).toBe('1');
      expect(logTerms(net, '2'), name).toEqual([...leader, 8]);
      expect(net.node('2').raw.status().hardState.commit, name).toBe(11);
      // Fast backtracking: at most one rejection, where stepping back one entry at a time would need up to 7.
      const rejections = net.trace.filter((l) => l.startsWith('  2->1 AppResp') && l.includes(' reject '));
      expect(rejections.length, name).toBe(follower.rejections);
    }
  });

  /** Figure 8 (c): S1 leads term 4 and has replicated index 2 (term 2) to S2 and S3, a majority. */
  function figure8(): Network {
    const voters = ['1', '2', '3', '4', '5'];
    const net = new Network({ maxSizePerMsg: 0 });
    net.start('1', storageWith({ voters }, [1, 2], { term: 3, commit: 1 }));
    net.start('2', storageWith({ voters }, [1, 2], { term: 3, commit: 1 }));
    net.start('3', storageWith({ voters }, [1], { term: 3, commit: 1 }));
    net.start('4', storageWith({ voters }, [1], { term: 3, commit: 1 }));
    net.start('5', storageWith({ voters }, [1, 3], { term: 3, commit: 1 }));
    net.partition(['1', '2', '3'], ['4'], ['5']);
    net.node('1').raw.campaign();
    // The network loses every App that would give a follower an entry of term 4 (S1's no-op).
    const wouldTake = (m: Message) => net.node(m.to).storage.lastIndex() >= m.index;
    for (let round = 0; round < 100; round++) {
      for (const id of net.ids()) net.processReady(id);
      net.inFlight = net.inFlight.filter(
        (m) => !(m.type === MessageType.App && m.entries.some((e) => e.term === 4) && wouldTake(m)),
      );
      if (net.deliver() === 0) break;
    }
    return net;
  }

  it('Figure 8: an old-term entry on a majority is not committed by counting replicas', () => {
    const net = figure8();
    expect(net.leader()).toBe('1');
    expect(net.node('1').raw.status().hardState.term).toBe(4);
    for (const id of ['1', '2', '3']) expect(logTerms(net, id).slice(0, 2), id).toEqual([1, 2]);
    expect(net.node('1').raw.status().progress!['3'].match).toBe(2);
    expect(net.node('1').raw.status().hardState.commit).toBe(1);
    // Once an entry of term 4 is on a majority, it and everything before it is committed.
    net.tick('1');
    net.stabilize();
    expect(net.node('1').raw.status().hardState.commit).toBe(3);
    expect(logTerms(net, '3')).toEqual([1, 2, 4]);
  });

  it('Figure 8 (d): that is right, because S5 can still be elected and replace it', () => {
    const net = figure8();
    net.partition(['1'], ['2', '3', '4', '5']);
    // Its first campaign (term 4) is stale for S2 and S3, who voted for S1 in term 4; the second wins.
    net.elect('5');
    net.elect('5');
    expect(net.node('5').raw.status().softState.role).toBe('leader');
    expect(net.node('5').raw.status().hardState.term).toBe(5);
    for (const id of ['2', '3', '4', '5']) expect(logTerms(net, id), id).toEqual([1, 3, 5]);
  });

  it('a follower appends only after the (prevIndex, prevTerm) check and hints where its log could match', () => {
    const net = loneNode([1, 1, 2, 2, 2], 2);
    net.node('1').raw.step(message({ type: MessageType.App, from: '2', to: '1', term: 3, logTerm: 3, index: 5 }));
    const [reject] = sent(net, '1');
    expect(reject).toMatchObject({ type: MessageType.AppResp, reject: true, index: 5, rejectHint: 5, logTerm: 2 });
    expect(logTerms(net, '1')).toEqual([1, 1, 2, 2, 2]);
  });

  it('a follower never truncates on a stale or duplicate append, and acknowledges prevIndex + len(entries)', () => {
    const net = loneNode([1, 1, 2, 2, 2], 2);
    const e = (term: number, index: number) => ({ term, index, type: 0, data: bytes(`e${index}`) });
    // A delayed App of the current leader with entries the follower already has.
    net.node('1').raw.step(message({ type: MessageType.App, from: '2', to: '1', term: 2, logTerm: 1, index: 1, entries: [e(1, 2), e(2, 3)], commit: 5 }));
    const [ack] = sent(net, '1');
    expect(ack).toMatchObject({ type: MessageType.AppResp, reject: false, index: 3 });
    expect(logTerms(net, '1')).toEqual([1, 1, 2, 2, 2]);
    // commit = min(leaderCommit, last new entry): entries 4..5 are not known to match the leader's.
    expect(net.node('1').raw.status().hardState.commit).toBe(3);
  });

  it('a follower truncates at a real conflict and takes the leader\'s entries', () => {
    const net = loneNode([1, 1, 2, 2, 2], 2);
    const e = (term: number, index: number) => ({ term, index, type: 0, data: bytes(`x${index}`) });
    net.node('1').raw.step(message({ type: MessageType.App, from: '2', to: '1', term: 3, logTerm: 2, index: 3, entries: [e(3, 4)] }));
    expect(sent(net, '1')[0]).toMatchObject({ reject: false, index: 4 });
    expect(logTerms(net, '1')).toEqual([1, 1, 2, 3]);
  });
});

describe('§5.4 safety', () => {
  it('leader completeness: a node missing a committed entry cannot become leader', () => {
    const net = cluster(['1', '2', '3']);
    net.elect('1');
    net.partition(['1', '2'], ['3']);
    net.node('1').raw.propose(bytes('committed'));
    net.stabilize();
    expect(net.node('1').raw.status().hardState.commit).toBe(5);
    // The leader goes away; 3, which lacks entry 5, campaigns first.
    net.partition(['1'], ['2', '3']);
    net.elect('3');
    expect(net.node('3').raw.status().softState.role).not.toBe('leader');
    net.elect('2');
    expect(net.leader()).toBe('2');
    for (const id of ['2', '3']) expect(net.node(id).applied, id).toEqual(['committed']);
  });

  it("single-server change bug (Ongaro 2015): a new leader proposes no change before committing in its term", () => {
    const voters = ['1', '2', '3', '4'];
    const net = cluster(voters);
    net.elect('1');
    net.add('5');
    // Leader 1 appends "add 5" but nobody else receives it.
    net.partition(['1'], ['2', '3', '4'], ['5']);
    net.node('1').raw.proposeConfChange({ changes: [{ type: 'addVoter', id: '5' }] });
    net.stabilize();
    // 2 is elected by 2, 3, 4 and wants to remove 1 before its own no-op is committed.
    net.node('2').raw.campaign();
    while (net.node('2').raw.status().softState.role !== 'leader') {
      net.processReady('2');
      net.deliver(['3', '4']);
      net.processReady('3');
      net.processReady('4');
      net.deliver(['2']);
    }
    expect(net.node('2').raw.status().hardState.commit).toBe(5);
    expect(net.node('2').raw.status().lastIndex).toBe(6);
    expect(() => net.node('2').raw.proposeConfChange({ changes: [{ type: 'remove', id: '1' }] })).toThrow(
      /has not yet committed an entry of its term 3/,
    );
    net.stabilize();
    net.node('2').raw.proposeConfChange({ changes: [{ type: 'remove', id: '1' }] });
    net.stabilize();
    net.heal();
    net.tick('2');
    net.stabilize();
    // The remaining members agree, 1's uncommitted "add 5" was never committed, and 5 never became a voter.
    for (const id of ['2', '3', '4']) {
      expect(net.node(id).confState.voters, id).toEqual(['2', '3', '4']);
      expect(logTerms(net, id), id).toEqual(logTerms(net, '2'));
    }
    for (const id of net.ids()) expect(net.node(id).confState.voters, id).not.toContain('5');
    expect(net.node('1').raw.status().hardState.commit).toBe(5);
  });
});

describe('§9.6 / thesis §6.4: disruptive servers', () => {
  function partitionedFollower(options: { preVote?: boolean; checkQuorum?: boolean }): Network {
    const net = cluster(['1', '2', '3'], options);
    net.elect('1');
    net.partition(['1', '2'], ['3']);
    for (let i = 0; i < 5; i++) {
      net.tickElection('3');
      net.stabilize();
    }
    net.node('1').raw.propose(bytes('while 3 was away'));
    net.stabilize();
    return net;
  }

  it('with pre-vote a partitioned node never increments its term and does not disrupt the leader on rejoining', () => {
    const net = partitionedFollower({ preVote: true });
    expect(net.node('3').raw.status().hardState.term).toBe(2);
    expect(net.node('3').raw.status().softState.role).toBe('precandidate');
    net.heal();
    net.tickElection('3');
    net.stabilize();
    net.tick('1');
    net.stabilize();
    expect(net.leader()).toBe('1');
    expect(net.node('1').raw.status().hardState.term).toBe(2);
    expect(net.node('3').raw.status().softState).toEqual({ role: 'follower', leader: '1' });
    expect(net.node('3').applied).toEqual(['while 3 was away']);
  });

  it('without pre-vote the same node comes back with a higher term and deposes the leader', () => {
    const net = partitionedFollower({});
    expect(net.node('3').raw.status().hardState.term).toBe(7);
    net.heal();
    net.tickElection('3');
    net.stabilize();
    expect(net.node('1').raw.status().hardState.term).toBe(8);
    expect(net.node('1').raw.status().softState.role).toBe('follower');
  });

  it('with check-quorum, followers in lease ignore the votes of a node back from a partition', () => {
    const net = partitionedFollower({ checkQuorum: true });
    const before = net.node('2').raw.status().hardState;
    net.heal();
    net.tickElection('3');
    net.processReady('3');
    net.deliver(['1', '2']);
    expect(net.node('2').raw.status().hardState).toEqual(before);
    expect(net.node('1').raw.status().softState.role).toBe('leader');
    expect(net.inFlight.filter((m) => m.type === MessageType.VoteResp)).toEqual([]);
  });

  it('with check-quorum a leader cut off from a quorum steps down within an election timeout', () => {
    const net = cluster(['1', '2', '3'], { checkQuorum: true });
    net.elect('1');
    net.partition(['1'], ['2', '3']);
    net.tickElection('1');
    expect(net.node('1').raw.status().softState.role).toBe('leader'); // the first check finds the quorum from before
    net.tickElection('1');
    expect(net.node('1').raw.status().softState).toEqual({ role: 'follower', leader: '' });
    // 2 and 3 elect a successor once their lease on 1 ran out.
    let successor: NodeId | undefined;
    while (!successor) {
      net.tick('2');
      net.tick('3');
      net.stabilize();
      successor = ['2', '3'].find((id) => net.node(id).raw.status().softState.role === 'leader');
    }
    net.heal();
    net.tick(successor);
    net.stabilize();
    expect(net.node('1').raw.status().softState).toEqual({ role: 'follower', leader: successor });
  });
});
