import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { KvStore, decodeKvCommand, describeKvCommand, encodeKvCommand } from '../../../core/kv/kv-store.js';

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));

describe('KvStore', () => {
  it('puts, deletes and bumps the revision only on change', () => {
    const kv = new KvStore();
    expect(kv.apply({ op: 'put', key: 'a', value: bytes('1') })).toEqual({ revision: 1, succeeded: true });
    expect(text(kv.get('a'))).toBe('1');
    expect(kv.apply({ op: 'del', key: 'missing' })).toEqual({ revision: 1, succeeded: false });
    expect(kv.apply({ op: 'del', key: 'a' })).toEqual({ revision: 2, succeeded: true });
    expect(kv.get('a')).toBeUndefined();
  });

  it('compare-and-swap succeeds only on the expected value or absence', () => {
    const kv = new KvStore();
    expect(kv.apply({ op: 'cas', key: 'k', from: bytes('x'), to: bytes('y') }).succeeded).toBe(false);
    expect(kv.apply({ op: 'cas', key: 'k', from: null, to: bytes('first') }).succeeded).toBe(true);
    expect(kv.apply({ op: 'cas', key: 'k', from: null, to: bytes('again') }).succeeded).toBe(false);
    expect(kv.apply({ op: 'cas', key: 'k', from: bytes('first'), to: bytes('second') }).succeeded).toBe(true);
    expect(text(kv.get('k'))).toBe('second');
    expect(kv.currentRevision()).toBe(2);
  });

  it('restores exactly what it snapshotted, binary values included', () => {
    const kv = new KvStore();
    kv.apply({ op: 'put', key: 'bin', value: new Uint8Array([0, 255, 7]) });
    kv.apply({ op: 'put', key: 'txt', value: bytes('hello') });
    const copy = new KvStore();
    copy.restore(kv.snapshot());
    expect([...copy.get('bin')!]).toEqual([0, 255, 7]);
    expect(text(copy.get('txt'))).toBe('hello');
    expect(copy.currentRevision()).toBe(2);
    expect(copy.size).toBe(2);
  });

  it('snapshots any store exactly: unicode keys, empty and binary values, revisions', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.oneof(fc.string(), fc.string({ unit: 'grapheme' })), fc.uint8Array({ maxLength: 64 }), fc.boolean())), (ops) => {
        const kv = new KvStore();
        for (const [key, value, remove] of ops) kv.apply(remove ? { op: 'del', key } : { op: 'put', key, value });
        const copy = new KvStore();
        copy.restore(kv.snapshot());
        expect(copy.size).toBe(kv.size);
        expect(copy.currentRevision()).toBe(kv.currentRevision());
        for (const [key] of ops) expect(copy.get(key)).toEqual(kv.get(key));
        expect(Buffer.from(copy.snapshot()).equals(Buffer.from(kv.snapshot()))).toBe(true); // mod revisions too
      }),
    );
  });

  it('restores snapshots of the older msgpack layout', () => {
    const old = new Packr({ useRecords: false, moreTypes: false }).pack({ revision: 7, items: [['a', bytes('1'), 3], ['b', bytes('22'), 7]] });
    const kv = new KvStore();
    kv.restore(old);
    expect(text(kv.get('b'))).toBe('22');
    expect(kv.currentRevision()).toBe(7);
  });

  it('refuses a truncated or padded snapshot and keeps what it had', () => {
    const source = new KvStore();
    source.apply({ op: 'put', key: 'k', value: bytes('value') });
    const good = source.snapshot();
    const kv = new KvStore();
    kv.apply({ op: 'put', key: 'mine', value: bytes('kept') });
    expect(() => kv.restore(good.subarray(0, good.length - 3))).toThrow(/malformed KV snapshot .*truncated/);
    expect(() => kv.restore(new Uint8Array([...good, 0]))).toThrow(/1 bytes after the last of 1 items/);
    expect(text(kv.get('mine'))).toBe('kept');
    expect(kv.get('k')).toBeUndefined();
  });

  it('round-trips commands and describes them for log views', () => {
    const put = encodeKvCommand({ op: 'put', key: 'user/1', value: bytes('alice') });
    expect(decodeKvCommand(put)).toMatchObject({ op: 'put', key: 'user/1' });
    expect(describeKvCommand(put)).toBe('put user/1 = "alice" (5 B)');
    expect(describeKvCommand(encodeKvCommand({ op: 'cas', key: 'k', from: null, to: bytes('v') }))).toBe('cas k: (absent) → "v" (1 B)');
    expect(describeKvCommand(new Uint8Array([0xc1]))).toMatch(/not a KV command/);
    expect(() => decodeKvCommand(encodeKvCommand({ op: 'nope', key: 'k' } as never))).toThrow(/unknown KV op/);
  });
});
