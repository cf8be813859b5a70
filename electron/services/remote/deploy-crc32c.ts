// CRC-32C (Castagnoli) in plain JavaScript, with @node-rs/crc32's signature: the deployed raftd
// bundle uses it in place of that native addon, which cannot travel inside one file. Same values
// (the WAL and snapshots are portable between the two); about 10x slower, which a WAL's group commit hides.
const table = new Int32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
  table[n] = c;
}

/** CRC-32C of `input`, continuing from `initial` (the CRC of the bytes before it) as @node-rs/crc32 does. */
export function crc32c(input: string | Uint8Array, initial = 0): number {
  const bytes = typeof input === 'string' ? Buffer.from(input) : input;
  let crc = ~initial;
  for (let i = 0; i < bytes.length; i++) crc = table[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return ~crc >>> 0;
}
