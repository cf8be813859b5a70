// ConfChange <-> Entry.data. msgpack (msgpackr) because raftd already speaks it on the wire and on disk;
// zod checks what comes back so a damaged entry is reported, not half-applied.
import { Packr } from 'msgpackr';
import * as z from '../validation.js';
import type { ConfChange } from './types.js';

const packr = new Packr({ useRecords: false });

const confChangeSchema = z.object({
  changes: z.array(
    z.object({
      type: z.enum(['addVoter', 'addLearner', 'remove']),
      id: z.string().check(z.minLength(1)),
    }),
  ),
  transition: z.optional(z.enum(['auto', 'joint', 'explicit'])),
  context: z.optional(z.instanceof(Uint8Array)),
});

export function encodeConfChange(cc: ConfChange): Uint8Array {
  const plain: ConfChange = { changes: cc.changes.map(({ type, id }) => ({ type, id })) };
  if (cc.transition !== undefined) plain.transition = cc.transition;
  if (cc.context !== undefined) plain.context = cc.context;
  // A compact copy: msgpackr returns a view into its shared, reused buffer.
  return new Uint8Array(packr.pack(plain));
}

/** Throws an Error saying what is wrong when `data` is not an encoded ConfChange. */
export function decodeConfChange(data: Uint8Array): ConfChange {
  let raw: unknown;
  try {
    raw = packr.unpack(data);
  } catch (err) {
    throw new Error(`ConfChange entry is not valid msgpack: ${(err as Error).message}`);
  }
  const parsed = confChangeSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`ConfChange entry is malformed: ${z.prettifyError(parsed.error)}`);
  const cc: ConfChange = { changes: parsed.data.changes };
  if (parsed.data.transition !== undefined) cc.transition = parsed.data.transition;
  if (parsed.data.context !== undefined) cc.context = parsed.data.context;
  return cc;
}

/** The two functions as one object, as named in types.ts. */
export const confChangeCodec = { encode: encodeConfChange, decode: decodeConfChange } as const;
