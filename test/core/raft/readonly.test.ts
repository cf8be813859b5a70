import { describe, expect, it } from 'vitest';
import { message } from '../../../core/raft/raft.js';
import { ReadOnly, decodeRound, encodeRound } from '../../../core/raft/readonly.js';
import { MessageType } from '../../../core/raft/types.js';

const ctx = (s: string) => new TextEncoder().encode(s);
const request = (context: string, from = '') => message({ type: MessageType.ReadIndex, from, context: ctx(context) });
const three = { voters: ['1', '2', '3'], votersOutgoing: [] };
const contexts = (reads: { request: { context?: Uint8Array } }[]) => reads.map((r) => new TextDecoder().decode(r.request.context));

describe('ReadOnly', () => {
  it('numbers requests in rounds and asks heartbeats to confirm the newest', () => {
    const ro = new ReadOnly();
    expect(ro.heartbeatContext()).toBeUndefined();
    expect(ro.addRequest(5, request('a', '2'))).toBe(1);
    expect(ro.addRequest(6, request('b'))).toBe(2);
    expect(decodeRound(ro.heartbeatContext())).toBe(2);
  });

  it('releases a request once a quorum acknowledged its round or a later one, oldest first', () => {
    const ro = new ReadOnly();
    ro.addRequest(5, request('a', '2'));
    ro.addRequest(6, request('b'));
    ro.addRequest(7, request('c'));
    ro.ackAll('1');
    expect(ro.maybeAdvance(three)).toEqual([]);
    ro.recvAck('2', encodeRound(2));
    const released = ro.maybeAdvance(three);
    expect(released.map((r) => [r.index, r.request.from])).toEqual([
      [5, '2'],
      [6, ''],
    ]);
    expect(ro.maybeAdvance(three)).toEqual([]);
    expect(decodeRound(ro.heartbeatContext())).toBe(3);
    ro.recvAck('3', encodeRound(3));
    expect(ro.maybeAdvance(three).map((r) => r.index)).toEqual([7]);
    expect(ro.heartbeatContext()).toBeUndefined();
  });

  it('never lets an old acknowledgement confirm a request that arrived after it was sent, even one with the same context', () => {
    const ro = new ReadOnly();
    ro.addRequest(5, request('a', '3'));
    ro.ackAll('1');
    ro.recvAck('3', encodeRound(1));
    expect(contexts(ro.maybeAdvance(three))).toEqual(['a']);
    // A new request, then a redelivered copy of 'a', then the old ack again (duplicated by the network).
    ro.addRequest(9, request('b'));
    ro.addRequest(9, request('a', '3'));
    ro.ackAll('1');
    ro.recvAck('3', encodeRound(1));
    ro.recvAck('2', encodeRound(1));
    expect(ro.maybeAdvance(three)).toEqual([]);
    ro.recvAck('2', encodeRound(3));
    expect(contexts(ro.maybeAdvance(three))).toEqual(['b', 'a']);
  });

  it('ignores echoes that name no round, or a round not issued yet', () => {
    const ro = new ReadOnly();
    ro.addRequest(5, request('a'));
    ro.ackAll('1');
    for (const echo of [ctx('a'), ctx('2'), ctx('0'), ctx('01'), ctx('1e3'), ctx('99999999999999999'), new Uint8Array(), undefined]) {
      ro.recvAck('2', echo);
    }
    expect(ro.maybeAdvance(three)).toEqual([]);
    // A forged far-future round must not confirm requests still to come either.
    ro.recvAck('2', encodeRound(1000));
    ro.addRequest(6, request('b'));
    ro.ackAll('1');
    expect(ro.maybeAdvance(three)).toEqual([]);
  });

  it('needs a quorum of both halves of a joint configuration', () => {
    const ro = new ReadOnly();
    const joint = { voters: ['1', '2', '3'], votersOutgoing: ['1', '4', '5'] };
    ro.addRequest(5, request('a'));
    ro.ackAll('1');
    ro.recvAck('2', encodeRound(1));
    expect(ro.maybeAdvance(joint)).toEqual([]);
    ro.recvAck('4', encodeRound(1));
    expect(contexts(ro.maybeAdvance(joint))).toEqual(['a']);
  });
});
