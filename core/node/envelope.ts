// Entry data and conf-change contexts carry the proposer's request id in front of the payload, so
// the node that proposed an entry can resolve the caller's promise when that entry is applied.
// Layout: [u8 id length][id bytes][payload]. An empty entry (a leader's no-op) has no envelope.

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function wrap(requestId: string, payload: Uint8Array): Uint8Array {
  const id = encoder.encode(requestId);
  if (id.length > 255) throw new Error('request id too long');
  const out = new Uint8Array(1 + id.length + payload.length);
  out[0] = id.length;
  out.set(id, 1);
  out.set(payload, 1 + id.length);
  return out;
}

export function unwrap(data: Uint8Array): { requestId: string; payload: Uint8Array } {
  if (data.length === 0) return { requestId: '', payload: data };
  const idLength = data[0];
  if (1 + idLength > data.length) throw new Error('malformed entry envelope');
  return {
    requestId: decoder.decode(data.subarray(1, 1 + idLength)),
    payload: data.subarray(1 + idLength),
  };
}
