// One limit for a key and a value, in UTF-8 bytes, shared by raftd's API, the console API and its KV form.
import { describe, expect, it } from 'vitest';
import { keyTooLarge, MAX_KEY_BYTES, MAX_VALUE_BYTES, valueTooLarge } from '../../../core/kv/limits.js';
import { parseRequest } from '../../../electron/shared/api.js';

describe('KV size limits', () => {
  it('take exactly the limit and refuse one byte more, counting UTF-8 bytes', () => {
    expect(valueTooLarge('x'.repeat(MAX_VALUE_BYTES))).toBeNull();
    expect(valueTooLarge('x'.repeat(MAX_VALUE_BYTES + 1))).toBe('The value is 1.00 MiB; a value can be at most 1 MiB.');
    // "é" takes two bytes: half the limit in characters plus one is over it.
    expect(valueTooLarge('é'.repeat(MAX_VALUE_BYTES / 2))).toBeNull();
    expect(valueTooLarge('é'.repeat(MAX_VALUE_BYTES / 2 + 1))).not.toBeNull();
    expect(keyTooLarge('k'.repeat(MAX_KEY_BYTES))).toBeNull();
    expect(keyTooLarge('k'.repeat(MAX_KEY_BYTES + 1))).toBe('The key is 4.0 KiB; a key can be at most 4.0 KiB.');
  });

  it('are what the console API checks, for put and for both sides of a compare-and-swap', () => {
    const big = 'é'.repeat(MAX_VALUE_BYTES / 2 + 1);
    expect(() => parseRequest('kv.put', { clusterId: 'c', key: 'k', value: 'x'.repeat(MAX_VALUE_BYTES) })).not.toThrow();
    expect(() => parseRequest('kv.put', { clusterId: 'c', key: 'k', value: big })).toThrow(/value: a value is at most 1048576 bytes/);
    expect(() => parseRequest('kv.cas', { clusterId: 'c', key: 'k', from: null, to: big })).toThrow(/to: a value is at most/);
    expect(() => parseRequest('kv.cas', { clusterId: 'c', key: 'k', from: big, to: 'x' })).toThrow(/from: a value is at most/);
    expect(() => parseRequest('kv.get', { clusterId: 'c', key: 'k'.repeat(MAX_KEY_BYTES + 1) })).toThrow(/key: a key is at most 4096 bytes/);
  });
});
