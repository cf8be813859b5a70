// The frame seal of the peer protocol (token without TLS), written out here independently of
// core/transport/tcp.ts to pin the wire format: payload ‖ HMAC-SHA256(key, u64 seq ‖ payload)[0..16].
import { createHmac } from 'node:crypto';

export type Seal = (payload: Uint8Array) => Buffer;

/** Seals a connection's message frames in order; `key` = HMAC(token, ["raft-peer-frames", clusterId, from, to, Nd, Na]). */
export function sealer(key: Buffer): Seal {
  let seq = 0;
  return (payload) => {
    const counter = Buffer.alloc(8);
    counter.writeBigUInt64BE(BigInt(seq++));
    return Buffer.concat([payload, createHmac('sha256', key).update(counter).update(payload).digest().subarray(0, 16)]);
  };
}
