// raftd's replicated state: the key-value store plus the member directory (who is at which
// peer and client address). The directory is replicated too, so that every node, and every node
// restored from a snapshot, can reach and redirect to every member.
import { Packr } from 'msgpackr';
import type { ConfChange, ConfState, Entry, NodeId } from '../raft/types.js';
import { KvStore, decodeKvCommand, type KvResult } from '../kv/kv-store.js';
import type { StateMachine } from '../node/raft-node.js';

const packr = new Packr({ useRecords: false });

export interface MemberAddress {
  peer: string;
  client: string;
}

/** What a membership change carries in its context. */
export type MemberContext = Record<NodeId, MemberAddress>;

export function encodeMemberContext(members: MemberContext): Uint8Array {
  return packr.pack(members);
}

export function decodeMemberContext(data: Uint8Array): MemberContext {
  if (data.length === 0) return {};
  return packr.unpack(data) as MemberContext;
}

/**
 * A value as the store keeps it. Decoded values are views into their entry, and a follower's
 * entries into the buffer of the whole message that brought them: kept as such, every value would
 * pin a message's worth of bytes until all of its neighbours are overwritten too.
 */
function own(bytes: Uint8Array): Uint8Array {
  return bytes.byteLength * 2 < bytes.buffer.byteLength ? new Uint8Array(bytes) : bytes;
}

export class RaftdStateMachine implements StateMachine {
  readonly kv = new KvStore();
  private directory: MemberContext;
  private readonly onMembers: (directory: MemberContext) => void;

  constructor(initialDirectory: MemberContext, onMembers: (directory: MemberContext) => void = () => {}) {
    this.directory = { ...initialDirectory };
    this.onMembers = onMembers;
  }

  members(): MemberContext {
    return this.directory;
  }

  apply(command: Uint8Array): KvResult {
    const decoded = decodeKvCommand(command);
    if (decoded.op === 'put') decoded.value = own(decoded.value);
    else if (decoded.op === 'cas') decoded.to = own(decoded.to);
    return this.kv.apply(decoded);
  }

  applyConfChange(change: ConfChange, context: Uint8Array, confState: ConfState, _entry: Entry): void {
    const added = decodeMemberContext(context);
    const next: MemberContext = { ...this.directory, ...added };
    const current = new Set([...confState.voters, ...confState.votersOutgoing, ...confState.learners, ...confState.learnersNext]);
    for (const single of change.changes) {
      if (single.type === 'remove' && !current.has(single.id)) delete next[single.id];
    }
    this.directory = next;
    this.onMembers(this.directory);
  }

  snapshot(): Uint8Array {
    const packed = packr.pack({ kv: this.kv.snapshot(), directory: this.directory });
    // msgpackr packs into one buffer shared by every Packr, grown to 4× the largest value and kept,
    // so a snapshot would pin megabytes for good: keep an exact copy, give msgpackr a small buffer.
    const data = new Uint8Array(packed);
    packr.useBuffer(Buffer.allocUnsafeSlow(8192));
    return data;
  }

  restore(data: Uint8Array): void {
    const state = packr.unpack(data) as { kv: Uint8Array; directory: MemberContext };
    this.kv.restore(state.kv);
    this.directory = { ...state.directory };
    this.onMembers(this.directory);
  }
}
