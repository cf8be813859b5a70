// raftd's state machine snapshots: the KV and the member directory, in the binary layout and the
// older msgpack one that existing data dirs still hold.
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { encodeKvCommand } from '../../../core/kv/kv-store.js';
import { RaftdStateMachine, type MemberContext } from '../../../core/server/state-machine.js';

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
