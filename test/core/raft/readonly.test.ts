import { describe, expect, it } from 'vitest';
import { message } from '../../../core/raft/raft.js';
import { ReadOnly } from '../../../core/raft/readonly.js';
import { MessageType } from '../../../core/raft/types.js';

const ctx = (s: string) => new TextEncoder().encode(s);
const request = (context: string, from = '') => message({ type: MessageType.ReadIndex, from, context: ctx(context) });

describe('ReadOnly', () => {
  it('collects acknowledgements per request context, compared by content', () => {
    const ro = new ReadOnly();
    ro.addRequest(5, request('a'));
    ro.recvAck('1', ctx('a'));
    expect([...ro.recvAck('2', ctx('a'))!.keys()]).toEqual(['1', '2']);
    expect(ro.recvAck('2', ctx('unknown'))).toBeUndefined();
  });

  it('releases a confirmed request together with every request queued before it', () => {
    const ro = new ReadOnly();
    ro.addRequest(5, request('a', '2'));
    ro.addRequest(6, request('b'));
    ro.addRequest(7, request('c'));
    expect(ro.lastPendingContext()).toEqual(ctx('c'));
    const released = ro.advance(ctx('b'));
    expect(released.map((r) => [r.index, r.request.from])).toEqual([
      [5, '2'],
      [6, ''],
    ]);
    expect(ro.advance(ctx('b'))).toEqual([]);
    expect(ro.advance(ctx('c')).map((r) => r.index)).toEqual([7]);
    expect(ro.lastPendingContext()).toBeUndefined();
  });

  it('lets a second request with a pending context join the first', () => {
    const ro = new ReadOnly();
    ro.addRequest(5, request('a'));
    ro.addRequest(9, request('a'));
    expect(ro.advance(ctx('a')).map((r) => r.index)).toEqual([5]);
  });
});
