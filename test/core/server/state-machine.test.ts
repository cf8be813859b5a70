// raftd's state machine snapshots: the KV and the member directory, in the binary layout and the
// older msgpack one that existing data dirs still hold.
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { encodeKvCommand } from '../../../core/kv/kv-store.js';
import { RaftdStateMachine, encodeMemberContext, type MemberContext } from '../../../core/service/state-machine.js';
import { EntryType, type ConfState } from '../../../core/raft/types.js';

const bytes = (s: string) => new TextEncoder().encode(s);
const directory: MemberContext = { n1: { peer: '127.0.0.1:7001', client: '127.0.0.1:8001' }, n2: { peer: '127.0.0.1:7002', client: '127.0.0.1:8002' } };

describe('RaftdStateMachine snapshots', () => {
  it('restore the KV and the member directory, and tell the directory listener', () => {
    const source = new RaftdStateMachine(directory);
    source.apply(encodeKvCommand({ op: 'put', key: 'a', value: bytes('1') }));
    source.apply(encodeKvCommand({ op: 'put', key: 'b', value: bytes('2') }));
    const heard: MemberContext[] = [];
    const copy = new RaftdStateMachine({}, (d) => heard.push(d));
    copy.restore(source.snapshot());
    expect(copy.members()).toEqual(directory);
    expect(heard).toEqual([directory]);
    expect(new TextDecoder().decode(copy.kv.get('b'))).toBe('2');
    expect(copy.kv.currentRevision()).toBe(2);
  });

  it('restore snapshots of the older msgpack layout', () => {
    const oldKv = new Packr({ useRecords: false, moreTypes: false }).pack({ revision: 1, items: [['old', bytes('format'), 1]] });
    const old = new Packr({ useRecords: false }).pack({ kv: oldKv, directory });
    const sm = new RaftdStateMachine({});
    sm.restore(old);
    expect(sm.members()).toEqual(directory);
    expect(new TextDecoder().decode(sm.kv.get('old'))).toBe('format');
  });

  it('refuse a snapshot whose directory runs past its end', () => {
    const good = new RaftdStateMachine(directory).snapshot();
    const sm = new RaftdStateMachine({});
    expect(() => sm.restore(good.subarray(0, 12))).toThrow(/member directory runs past the end/);
  });
});

describe('RaftdStateMachine member directory', () => {
  const confState = (voters: string[], learners: string[] = []): ConfState => ({ voters, votersOutgoing: [], learners, learnersNext: [], autoLeave: false });
  const entry = { index: 7, term: 2, type: EntryType.ConfChange, data: new Uint8Array() };

  it('applies a member with an unusable address: listed, left unreachable, logged once, nothing thrown', () => {
    const heard: MemberContext[] = [];
    const warnings: string[] = [];
    // The listener throws as TcpTransport.setPeer does for an address it cannot parse.
    const sm = new RaftdStateMachine(directory, (reachable) => {
      heard.push(reachable);
      for (const a of Object.values(reachable)) if (!/:\d+$/.test(a.peer)) throw new Error(`invalid address ${a.peer}`);
    }, (m) => warnings.push(m));
    const bad = { n3: { peer: '127.0.0.1', client: '127.0.0.1:8003\r\nX-Injected: 1' } };
    sm.applyConfChange({ changes: [{ type: 'addLearner', id: 'n3' }] }, encodeMemberContext(bad), confState(['n1', 'n2'], ['n3']), entry);
    sm.applyConfChange({ changes: [{ type: 'addVoter', id: 'n3' }] }, new Uint8Array(), confState(['n1', 'n2', 'n3']), { ...entry, index: 8 });
    expect(sm.members()).toEqual({ ...directory, ...bad });
    expect(heard).toEqual([directory, directory]);
    expect(sm.reachableMembers()).toEqual(directory);
    expect(warnings.filter((w) => /n3 stays unreachable: its peer address "127.0.0.1" has no port/.test(w))).toHaveLength(1);
    expect(warnings.filter((w) => /n3: its client address .* contains spaces, control characters/.test(w))).toHaveLength(1);
  });

  it('applies a configuration entry whose addresses are not a directory, and a listener that throws, without throwing', () => {
    const warnings: string[] = [];
    const sm = new RaftdStateMachine(directory, () => {
      throw new Error('transport refused');
    }, (m) => warnings.push(m));
    const garbage = [new Uint8Array([0x81]), new Uint8Array([0xc1]), new Packr().pack('a string'), new Packr().pack({ n4: 'no object' }), new Packr().pack({ n5: { peer: 5, client: null } })];
    for (const context of garbage) {
      expect(() => sm.applyConfChange({ changes: [{ type: 'addLearner', id: 'n4' }] }, context, confState(['n1', 'n2'], ['n4']), entry)).not.toThrow();
    }
    expect(sm.members()).toEqual(directory);
    expect(warnings.some((w) => /cannot be decoded/.test(w))).toBe(true);
    expect(warnings.some((w) => /updating the peer list failed: transport refused/.test(w))).toBe(true);
  });
});
