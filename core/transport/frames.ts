// Length-prefixed frames on a byte stream: [u32 big-endian length][payload].

const FRAME_HEADER_BYTES = 4;

export class FrameTooLargeError extends Error {
  constructor(
    readonly length: number,
    readonly max: number,
  ) {
    super(`frame of ${length} bytes exceeds the limit of ${max} bytes`);
    this.name = 'FrameTooLargeError';
  }
}

/** All payloads as frames in one buffer, so a batch goes out in a single write. */
export function encodeFrames(payloads: readonly Uint8Array[]): Buffer {
  let total = 0;
  for (const p of payloads) total += FRAME_HEADER_BYTES + p.length;
  const out = Buffer.allocUnsafe(total);
  let offset = 0;
  for (const p of payloads) {
    out.writeUInt32BE(p.length, offset);
    out.set(p, offset + FRAME_HEADER_BYTES);
    offset += FRAME_HEADER_BYTES + p.length;
  }
  return out;
}

/**
 * Cuts a stream of chunks into frames. Pull-based (push, then next() until undefined) so the
 * caller can change maxFrameBytes between frames, e.g. once a handshake is done. Chunks are kept
 * as a list and copied once per frame, so a large frame arriving in many chunks costs linear time.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  /** Bytes of chunks[0] already consumed. */
  private head = 0;
  private buffered = 0;
  /** Length of the frame being read, or -1 while its header is incomplete. */
  private frameLength = -1;

  constructor(public maxFrameBytes: number) {}

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** The next complete payload, undefined until more bytes arrive; throws FrameTooLargeError. */
  next(): Buffer | undefined {
    if (this.frameLength < 0) {
      if (this.buffered < FRAME_HEADER_BYTES) return undefined;
      const length = this.take(FRAME_HEADER_BYTES).readUInt32BE(0);
      if (length > this.maxFrameBytes) throw new FrameTooLargeError(length, this.maxFrameBytes);
      this.frameLength = length;
    }
    if (this.buffered < this.frameLength) return undefined;
    const payload = this.take(this.frameLength);
    this.frameLength = -1;
    return payload;
  }

  private take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    this.buffered -= n;
    const first = this.chunks[0];
    if (first.length - this.head >= n) {
      const out = first.subarray(this.head, this.head + n);
      this.advance(n);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0];
      const count = Math.min(n - filled, chunk.length - this.head);
      chunk.copy(out, filled, this.head, this.head + count);
      filled += count;
      this.advance(count);
    }
    return out;
  }

  private advance(n: number): void {
    this.head += n;
    if (this.head === this.chunks[0].length) {
      this.chunks.shift();
      this.head = 0;
    }
  }
}
