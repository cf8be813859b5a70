// What a storable snapshot looks like, shared by both snapshot stores (input checks) and
// the file store (checking what it decoded).
import * as z from '../validation.js';
import type { Snapshot, SnapshotMetadata } from '../raft/types.js';

const index = z.int().check(z.nonnegative());
const ids = z.array(z.string());

export const snapshotMetadataSchema = z.object({
  index,
  term: index,
  confState: z.object({
    voters: ids,
    votersOutgoing: ids,
    learners: ids,
    learnersNext: ids,
    autoLeave: z.boolean(),
  }),
});

/** Throws on a malformed snapshot, or one older than the stored one at `storedIndex`. */
export function checkSnapshot(snapshot: Snapshot, storedIndex: number): void {
  const parsed = snapshotMetadataSchema.safeParse(snapshot?.metadata);
  if (!parsed.success) throw new TypeError(`invalid snapshot metadata:\n${z.prettifyError(parsed.error)}`);
  if (!(snapshot.data instanceof Uint8Array)) throw new TypeError('snapshot data must be a Uint8Array');
  if (snapshot.metadata.index < storedIndex) {
    throw new RangeError(`snapshot at index ${snapshot.metadata.index} is older than the stored one at index ${storedIndex}`);
  }
}

export function copySnapshot(snapshot: Snapshot): Snapshot {
  return { metadata: copyMetadata(snapshot.metadata), data: new Uint8Array(snapshot.data) };
}

function copyMetadata(m: SnapshotMetadata): SnapshotMetadata {
  const c = m.confState;
  return {
    index: m.index,
    term: m.term,
    confState: {
      voters: [...c.voters],
      votersOutgoing: [...c.votersOutgoing],
      learners: [...c.learners],
      learnersNext: [...c.learnersNext],
      autoLeave: c.autoLeave,
    },
  };
}
