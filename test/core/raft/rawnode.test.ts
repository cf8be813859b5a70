// The public API contract: bootstrap, the Ready/advance hand-off, config checks, refusals.
import { describe, expect, it } from 'vitest';
import { decodeConfChange } from '../../../core/raft/codec.js';
import { MemoryStorage } from '../../../core/raft/memory-storage.js';
import { RawNode } from '../../../core/raft/rawnode.js';
import { EntryType, MessageType, ProposalRejected, type RaftConfig, type Ready } from '../../../core/raft/types.js';
import { bytes, cluster, seededRandom, storageWith } from './harness.js';

function config(overrides: Partial<RaftConfig> = {}): RaftConfig {
  return { id: '1', electionTick: 10, heartbeatTick: 1, storage: new MemoryStorage(), random: seededRandom(7), ...overrides };
}

describe('RawNode.bootstrap', () => {
  it('writes one committed addVoter entry per voter at term 1', () => {
    const storage = new MemoryStorage();
    RawNode.bootstrap(storage, ['1', '2', '3']);
    const entries = storage.entries(1, 4);
    expect(entries.map((e) => [e.term, e.index, e.type])).toEqual([
      [1, 1, EntryType.ConfChange],
      [1, 2, EntryType.ConfChange],
      [1, 3, EntryType.ConfChange],
    ]);
    expect(entries.map((e) => decodeConfChange(e.data).changes)).toEqual([
      [{ type: 'addVoter', id: '1' }],
      [{ type: 'addVoter', id: '2' }],
      [{ type: 'addVoter', id: '3' }],
    ]);
    expect(storage.initialState().hardState).toEqual({ term: 1, vote: '', commit: 3 });
  });

  it('hands the bootstrap entries to the driver to apply, and only then may the node campaign', () => {
    const storage = new MemoryStorage();
    RawNode.bootstrap(storage, ['1']);
    const node = new RawNode(config({ storage }));
    node.campaign(); // not a member yet: ignored
    expect(node.status().softState.role).toBe('follower');
    const rd = node.ready();
    expect(rd.committedEntries.map((e) => e.index)).toEqual([1]);
    const cs = node.applyConfChange(decodeConfChange(rd.committedEntries[0].data));
    expect(cs.voters).toEqual(['1']);
    node.advance(rd);
    node.campaign();
    expect(node.status().softState.role).toBe('leader');
  });

  it('refuses storage that already holds state, and bad voter lists', () => {
    const storage = new MemoryStorage();
    RawNode.bootstrap(storage, ['1']);
    expect(() => RawNode.bootstrap(storage, ['1'])).toThrow(/empty storage/);
    expect(() => RawNode.bootstrap(new MemoryStorage(), [])).toThrow(/at least one voter/);
    expect(() => RawNode.bootstrap(new MemoryStorage(), ['1', '1'])).toThrow(/duplicates/);
  });
});

describe('config checks', () => {
  it.each<[string, Partial<RaftConfig>, RegExp]>([
    ['lease reads without checkQuorum', { readOnlyOption: 'lease' }, /'lease' requires checkQuorum/],
    ['an election timeout not above the heartbeat', { electionTick: 1, heartbeatTick: 1 }, /greater than heartbeatTick/],
    ['an empty id', { id: '' }, /id must be a non-empty string/],
    ['a zero inflight window', { maxInflightMsgs: 0 }, /maxInflightMsgs must be a positive integer/],
  ])('rejects %s', (_name, overrides, reason) => {
    expect(() => new RawNode(config(overrides))).toThrow(reason);
  });

  it('accepts lease reads with checkQuorum', () => {
    expect(() => new RawNode(config({ readOnlyOption: 'lease', checkQuorum: true }))).not.toThrow();
  });

  it('refuses a hard state whose commit index is past the stored log', () => {
    const storage = storageWith({ voters: ['1'] }, [1, 1], { commit: 5 });
    expect(() => new RawNode(config({ storage }))).toThrow(/commit 5 is past the stored log, which ends at 2/);
  });

  it('takes a stored commit behind its snapshot as the snapshot index (commit-only changes go unwritten)', () => {
    const storage = storageWith({ voters: ['1'] }, [1, 1, 1, 1], { commit: 1 });
    storage.createSnapshot(3, storage.initialState().confState, bytes('state at 3'));
    storage.compact(3);
    expect(new RawNode(config({ storage })).status().hardState.commit).toBe(3);
  });
});

describe('Ready / advance', () => {
  it('asks to sync the commit covering a configuration change before it is applied, on every node', () => {
    const net = cluster(['1', '2', '3']);
    net.elect('1');
    net.node('1').raw.proposeConfChange({ changes: [{ type: 'addLearner', id: '4' }] });
    const applying: { id: string; rd: Ready }[] = [];
    for (let round = 0; round < 20; round++) {
      for (const id of net.ids()) {
        const rd = net.processReady(id);
        if (rd?.committedEntries.some((e) => e.type === EntryType.ConfChange)) applying.push({ id, rd });
      }
      net.deliver();
    }
    expect(applying.map((a) => a.id).sort()).toEqual(['1', '2', '3']);
    for (const { id, rd } of applying) {
      const confIndex = rd.committedEntries.find((e) => e.type === EntryType.ConfChange)!.index;
      expect(rd.mustSync, id).toBe(true);
      expect(rd.hardState?.commit, id).toBeGreaterThanOrEqual(confIndex);
    }
  });

  it('must alternate', () => {
    const node = new RawNode(config({ storage: storageWith({ voters: ['1'] }) }));
    node.campaign();
    const rd = node.ready();
    expect(() => node.ready()).toThrow(/before advance/);
    expect(() => node.advance({ ...rd })).toThrow(/last ready/);
    node.advance(rd);
  });

  it('reports hard and soft state only when they change, and mustSync only for durable changes', () => {
    const storage = storageWith({ voters: ['1', '2'] });
    const node = new RawNode(config({ storage }));
    node.campaign();
    const first = persisted(storage, node.ready());
    expect(first.softState).toEqual({ leader: '', role: 'candidate' });
    expect(first.hardState).toEqual({ term: 1, vote: '1', commit: 0 });
    expect(first.mustSync).toBe(true);
    node.advance(first);
    expect(node.hasReady()).toBe(false);
    node.step({ ...voteResp('2', '1', 1) });
    const second = persisted(storage, node.ready());
    expect(second.softState).toEqual({ leader: '1', role: 'leader' });
    expect(second.hardState).toBeUndefined();
    expect(second.entries.map((e) => e.index)).toEqual([1]);
    expect(second.mustSync).toBe(true);
    node.advance(second);
    // Commit moves only when the follower acknowledges: no vote/term change, so no fsync is needed.
    node.step(appResp('2', '1', 1, 1));
    const third = node.ready();
    expect(third.hardState).toEqual({ term: 1, vote: '1', commit: 1 });
    expect(third.entries).toEqual([]);
    expect(third.mustSync).toBe(false);
  });

  it("counts the leader's own entry towards commit only once advance() says it is durable", () => {
    const storage = storageWith({ voters: ['1'] });
    const node = new RawNode(config({ storage }));
    node.campaign();
    const rd = node.ready();
    expect(rd.entries.map((e) => e.index)).toEqual([1]);
    persisted(storage, rd);
    expect(rd.committedEntries).toEqual([]);
    expect(node.status().hardState.commit).toBe(0);
    node.advance(rd);
    expect(node.status().hardState.commit).toBe(1);
    expect(node.ready().committedEntries.map((e) => e.index)).toEqual([1]);
  });

  it('puts what a response depends on in the same Ready, so the driver persists it before sending', () => {
    const net = cluster(['1', '2', '3']);
    net.node('1').raw.campaign();
    net.processReady('1');
    net.deliver(['2']);
    const vote = net.processReady('2')!;
    expect(vote.hardState).toMatchObject({ term: 2, vote: '1' });
    expect(vote.mustSync).toBe(true);
    expect(vote.messages.map((m) => m.type)).toEqual([MessageType.VoteResp]);
    net.stabilize();
    net.node('1').raw.propose(bytes('x'));
    net.processReady('1');
    net.deliver(['2']);
    const append = net.processReady('2')!;
    expect(append.entries.map((e) => e.index)).toEqual([5]);
    expect(append.messages.map((m) => [m.type, m.index])).toEqual([[MessageType.AppResp, 5]]);
  });

  it('is deterministic for a given random source', () => {
    const run = (seed: number) => {
      const net = cluster(['1', '2', '3'], {}, seed);
      for (let i = 0; i < 60; i++) {
        for (const id of net.ids()) net.tick(id);
        net.stabilize();
      }
      net.node(net.leader()!).raw.propose(bytes('x'));
      net.stabilize();
      return net.takeTrace().join('\n');
    };
    expect(run(5)).toBe(run(5));
    expect(run(5)).not.toBe(run(6));
  });

  it('refuses local-only message types from the network', () => {
    const node = new RawNode(config({ storage: storageWith({ voters: ['1'] }) }));
    for (const type of [MessageType.Hup, MessageType.Beat, MessageType.Propose, MessageType.CheckQuorum]) {
      expect(() => node.step({ ...appResp('2', '1', 1, 0), type })).toThrow(/local to a node/);
    }
  });
});

describe('refusals', () => {
  it('a follower refuses proposals and names the leader', () => {
    const net = cluster(['1', '2', '3']);
    net.elect('1');
    expect(() => net.node('2').raw.propose(bytes('x'))).toThrow(/not the leader; send proposals to the leader, node 1/);
    const err = (() => {
      try {
        net.node('2').raw.propose(bytes('x'));
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ProposalRejected);
  });

  it('a node that knows no leader refuses reads and transfers', () => {
    const net = cluster(['1', '2', '3']);
    expect(() => net.node('2').raw.readIndex(bytes('r'))).toThrow(/knows no leader/);
    expect(() => net.node('2').raw.transferLeadership('3')).toThrow(/knows no leader/);
  });

  it('leadership can only go to a voter', () => {
    const net = cluster(['1', '2', '3']);
    net.elect('1');
    expect(() => net.node('1').raw.transferLeadership('9')).toThrow(/node 9 is not a voter/);
  });
});

/** The driver's step 1: make the Ready durable. */
function persisted(storage: MemoryStorage, rd: Ready): Ready {
  storage.append(rd.entries);
  if (rd.hardState) storage.setHardState(rd.hardState);
  return rd;
}

function voteResp(from: string, to: string, term: number) {
  return { type: MessageType.VoteResp, from, to, term, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0 };
}

function appResp(from: string, to: string, term: number, index: number) {
  return { type: MessageType.AppResp, from, to, term, logTerm: 0, index, entries: [], commit: 0, reject: false, rejectHint: 0 };
}
