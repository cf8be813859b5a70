import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameDecoder, FrameTooLargeError, encodeFrames } from '../../../core/transport/frames.js';

function drain(decoder: FrameDecoder): Buffer[] {
  const out: Buffer[] = [];
  for (let frame = decoder.next(); frame; frame = decoder.next()) out.push(frame);
  return out;
}

describe('frames', () => {
  it('recovers every payload however the stream is cut into chunks', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }),
        fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 10 }),
        (payloads, cuts) => {
          const stream = encodeFrames(payloads);
          const decoder = new FrameDecoder(1000);
          const frames: Buffer[] = [];
          for (let at = 0, i = 0; at < stream.length; i++) {
            const size = cuts[i % cuts.length];
            decoder.push(stream.subarray(at, at + size));
            at += size;
            frames.push(...drain(decoder));
          }
          expect(frames.map((f) => Array.from(f))).toEqual(payloads.map((p) => Array.from(p)));
          expect(decoder.next()).toBeUndefined();
        },
      ),
    );
  });

  it('rejects a frame above the limit as soon as its header arrives', () => {
    const decoder = new FrameDecoder(10);
    decoder.push(encodeFrames([new Uint8Array(10)]));
    expect(drain(decoder)).toHaveLength(1);
    decoder.push(encodeFrames([new Uint8Array(11)]).subarray(0, 4));
    expect(() => decoder.next()).toThrow(FrameTooLargeError);
  });

  it('applies a raised limit to the frames that follow', () => {
    const decoder = new FrameDecoder(4);
    decoder.push(encodeFrames([new Uint8Array(4), new Uint8Array(100)]));
    expect(decoder.next()).toHaveLength(4);
    decoder.maxFrameBytes = 100;
    expect(decoder.next()).toHaveLength(100);
  });
});
