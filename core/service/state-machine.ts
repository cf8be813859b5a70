// raftd's replicated state: the key-value store plus the member directory (who is at which
// peer and client address). The directory is replicated too, so that every node, and every node
// restored from a snapshot, can reach and redirect to every member.
import { Packr } from 'msgpackr';
import type { ConfChange, ConfState, Entry, NodeId } from '../raft/types.js';
import { KvStore, decodeKvCommand, type KvResult } from '../kv/kv-store.js';
import type { StateMachine } from '../node/raft-node.js';
import { addressProblem } from '../net/address.js';
import type { MemberAddress } from './wire.js';

const packr = new Packr({ useRecords: false });

/** Starts every snapshot of the binary layout; no msgpack map of the older one starts so. */
const SNAPSHOT_MAGIC = Buffer.from('RSM\x01', 'latin1');

export type { MemberAddress } from './wire.js';

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
 * The well-formed members of a directory read from the log or a snapshot: whatever an older
 * version or a bug committed, applying it must not throw. Entries that are not {peer, client}
 * strings are left out; `warn` hears why.
 */
function wellFormed(raw: unknown, warn: (message: string) => void): MemberContext {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    if (raw !== undefined) warn(`ignored a member directory that is not a map (${typeof raw})`);
    return {};
  }
  const out: MemberContext = {};
  for (const [id, value] of Object.entries(raw as Record<string, unknown>)) {
    const a = value as Partial<MemberAddress> | null;
    if (typeof a === 'object' && a !== null && typeof a.peer === 'string' && typeof a.client === 'string') out[id] = { peer: a.peer, client: a.client };
    else warn(`ignored member ${JSON.stringify(id)}: its addresses are not {peer, client} strings`);
  }
  return out;
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
  private readonly onMembers: (reachable: MemberContext) => void;
  private readonly warn: (message: string) => void;
  /** "id peer address" already warned about, so each bad address is logged once. */
  private readonly reported = new Set<string>();

  /**
   * `onMembers` hears the members that can be dialled: a member whose peer address is unusable
   * (committed by an older version, which did not check) stays in the directory, for people to
   * see and remove, but is left unreachable and logged through `warn`; applying it never throws.
   */
  constructor(initialDirectory: MemberContext, onMembers: (reachable: MemberContext) => void = () => {}, warn: (message: string) => void = () => {}) {
    this.directory = { ...initialDirectory };
    this.onMembers = onMembers;
    this.warn = warn;
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

  applyConfChange(change: ConfChange, context: Uint8Array, confState: ConfState, entry: Entry): void {
    let added: MemberContext = {};
    try {
      added = wellFormed(decodeMemberContext(context), this.warn);
    } catch (error) {
      this.warn(`configuration entry ${entry.index}: its member addresses cannot be decoded (${(error as Error).message}); applied without them`);
    }
    const next: MemberContext = { ...this.directory, ...added };
    const current = new Set([...confState.voters, ...confState.votersOutgoing, ...confState.learners, ...confState.learnersNext]);
    for (const single of change.changes) {
      if (single.type === 'remove' && !current.has(single.id)) delete next[single.id];
    }
    this.setDirectory(next);
  }

  /** Takes the new directory and tells the listener which members it can reach. */
  private setDirectory(directory: MemberContext): void {
    this.directory = directory;
    try {
      this.onMembers(this.reachableMembers());
    } catch (error) {
      this.warn(`updating the peer list failed: ${(error as Error).message}`);
    }
  }

  /** The members whose peer address can be dialled; the others are logged (once) and left out. */
  reachableMembers(): MemberContext {
    const reachable: MemberContext = {};
    for (const [id, address] of Object.entries(this.directory)) {
      const peerProblem = addressProblem(address.peer);
      const clientProblem = addressProblem(address.client);
      if (peerProblem) this.reportOnce(`${id} peer ${address.peer}`, `member ${id} stays unreachable: its peer address ${JSON.stringify(address.peer)} ${peerProblem}; remove it and add it again with a correct one`);
      else reachable[id] = address;
      if (clientProblem) this.reportOnce(`${id} client ${address.client}`, `member ${id}: its client address ${JSON.stringify(address.client)} ${clientProblem}; clients are not redirected to it`);
    }
    return reachable;
  }

  private reportOnce(key: string, message: string): void {
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.warn(message);
  }

  /**
   * The magic, the directory's length and msgpack, then the KV snapshot as it is, written behind
   * them in one buffer: a second megabyte-sized buffer and copy (and its fresh pages) cost a
   * leader about a quarter of the snapshot's time on the apply path.
   */
  snapshot(): Uint8Array {
    const directory = packr.pack(this.directory);
    const head = SNAPSHOT_MAGIC.length + 4 + directory.length;
    const out = this.kv.snapshot(head);
    out.set(SNAPSHOT_MAGIC, 0);
    out.writeUInt32LE(directory.length, SNAPSHOT_MAGIC.length);
    out.set(directory, SNAPSHOT_MAGIC.length + 4);
    return out;
  }

  restore(data: Uint8Array): void {
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    let state: { kv: Uint8Array; directory: MemberContext };
    if (buf.subarray(0, SNAPSHOT_MAGIC.length).equals(SNAPSHOT_MAGIC) && buf.length >= SNAPSHOT_MAGIC.length + 4) {
      const directoryEnd = SNAPSHOT_MAGIC.length + 4 + buf.readUInt32LE(SNAPSHOT_MAGIC.length);
      if (directoryEnd > buf.length) throw new Error(`malformed snapshot (${buf.length} bytes): its member directory runs past the end`);
      state = { directory: packr.unpack(buf.subarray(SNAPSHOT_MAGIC.length + 4, directoryEnd)) as MemberContext, kv: buf.subarray(directoryEnd) };
    } else {
      state = packr.unpack(data) as { kv: Uint8Array; directory: MemberContext }; // written before the binary layout
    }
    this.kv.restore(state.kv);
    this.setDirectory(wellFormed(state.directory, this.warn));
  }
}
