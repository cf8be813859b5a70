import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { decodeConfChange, encodeConfChange } from '../../../core/raft/codec.js';
import type { ConfChange } from '../../../core/raft/types.js';

describe('ConfChange codec', () => {
  it('round-trips every field', () => {
    const cc: ConfChange = {
      changes: [{ type: 'addVoter', id: '4' }, { type: 'remove', id: '1' }],
      transition: 'explicit',
      context: new Uint8Array([1, 2, 3]),
    };
    const decoded = decodeConfChange(encodeConfChange(cc));
    expect(decoded.changes).toEqual(cc.changes);
    expect(decoded.transition).toBe('explicit');
    expect([...decoded.context!]).toEqual([1, 2, 3]);
  });

  it('round-trips the empty change that leaves a joint configuration', () => {
    expect(decodeConfChange(encodeConfChange({ changes: [] }))).toEqual({ changes: [] });
  });

  it('says what is wrong with a damaged entry', () => {
    expect(() => decodeConfChange(new Uint8Array([0x92]))).toThrow(/not valid msgpack/);
    const wrongType = new Packr({ useRecords: false }).pack({ changes: [{ type: 'promote', id: '1' }] });
    expect(() => decodeConfChange(wrongType)).toThrow(/malformed.*changes/s);
    const noId = new Packr({ useRecords: false }).pack({ changes: [{ type: 'remove', id: '' }] });
    expect(() => decodeConfChange(noId)).toThrow(/malformed/);
  });
});
