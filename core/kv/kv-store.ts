// The replicated key-value state machine: put, delete and compare-and-swap, each bumping a
// store-wide revision. Commands are msgpack (compact, keeps values as bytes); snapshots a flat binary layout.
import { Packr } from 'msgpackr';

const packr = new Packr({ useRecords: false, moreTypes: false });

export type KvCommand =
  | { op: 'put'; key: string; value: Uint8Array }
  | { op: 'del'; key: string }
  | { op: 'cas'; key: string; from: Uint8Array | null; to: Uint8Array };

export interface KvResult {
  revision: number;
  /** cas: whether the swap happened; del: whether the key existed. */
  succeeded: boolean;
}

interface Item {
  value: Uint8Array;
  modRevision: number;
}

export function encodeKvCommand(command: KvCommand): Uint8Array {
  return packr.pack(command);
}

export function decodeKvCommand(data: Uint8Array): KvCommand {
  const command = packr.unpack(data) as KvCommand;
  if (!command || typeof command !== 'object' || typeof command.key !== 'string') throw new Error('malformed KV command');
  if (command.op !== 'put' && command.op !== 'del' && command.op !== 'cas') throw new Error(`unknown KV op ${String((command as { op: unknown }).op)}`);
  return command;
}

/** One line for log views: "put user/1 = "alice" (5 B)". */
export function describeKvCommand(data: Uint8Array): string {
  try {
    const c = decodeKvCommand(data);
    if (c.op === 'put') return `put ${c.key} = ${preview(c.value)}`;
    if (c.op === 'del') return `del ${c.key}`;
    return `cas ${c.key}: ${c.from === null ? '(absent)' : preview(c.from)} → ${preview(c.to)}`;
  } catch {
    return `(${data.length} bytes, not a KV command)`;
  }
}

function preview(value: Uint8Array): string {
  const text = Buffer.from(value.buffer, value.byteOffset, Math.min(value.length, 40)).toString('utf8');
  const printable = /^[\x20-\x7e]*$/.test(text);
  const shown = printable ? JSON.stringify(text) + (value.length > 40 ? '…' : '') : '<binary>';
  return `${shown} (${value.length} B)`;
}

/** Starts every binary snapshot; no msgpack document of the older format starts so. */
const SNAPSHOT_MAGIC = Buffer.from('RKV\x01', 'latin1');

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

export class KvStore {
  private items = new Map<string, Item>();
  private revision = 0;

  get(key: string): Uint8Array | undefined {
    return this.items.get(key)?.value;
  }

  get size(): number {
    return this.items.size;
  }

  currentRevision(): number {
    return this.revision;
  }

  apply(command: KvCommand): KvResult {
    switch (command.op) {
      case 'put':
        this.items.set(command.key, { value: command.value, modRevision: ++this.revision });
        return { revision: this.revision, succeeded: true };
      case 'del': {
        const existed = this.items.delete(command.key);
        if (existed) this.revision++;
        return { revision: this.revision, succeeded: existed };
      }
      case 'cas': {
        const current = this.items.get(command.key);
        const matches = command.from === null ? current === undefined : current !== undefined && sameBytes(current.value, command.from);
        if (!matches) return { revision: this.revision, succeeded: false };
        this.items.set(command.key, { value: command.to, modRevision: ++this.revision });
        return { revision: this.revision, succeeded: true };
      }
    }
  }

  /**
   * Binary: the magic, the revision, the count, then per item key length, key, value length, value
   * and mod revision. One exact-size buffer and straight copies, a few ms for 10,000 keys where
   * msgpack took 10-20: raftd serializes on its apply path every --snapshot-entries writes.
   * `headroom` bytes are left (unset) in front, for a caller that wraps the snapshot in its own
   * layout: it fills them in rather than copying megabytes into a second buffer.
   */
  snapshot(headroom = 0): Buffer {
    let size = headroom + SNAPSHOT_MAGIC.length + 8 + 4;
    for (const [key, item] of this.items) size += 4 + Buffer.byteLength(key) + 4 + item.value.length + 8;
    const out = Buffer.allocUnsafeSlow(size);
    out.set(SNAPSHOT_MAGIC, headroom);
    let at = headroom + SNAPSHOT_MAGIC.length;
    out.writeDoubleLE(this.revision, at);
    out.writeUInt32LE(this.items.size, at + 8);
    at += 12;
    for (const [key, item] of this.items) {
      const keyBytes = out.write(key, at + 4, 'utf8');
      out.writeUInt32LE(keyBytes, at);
      at += 4 + keyBytes;
      out.writeUInt32LE(item.value.length, at);
      out.set(item.value, at + 4);
      at += 4 + item.value.length;
      out.writeDoubleLE(item.modRevision, at);
      at += 8;
    }
    return out;
  }

  restore(data: Uint8Array): void {
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    if (!buf.subarray(0, SNAPSHOT_MAGIC.length).equals(SNAPSHOT_MAGIC)) return this.restoreMsgpack(data);
    const fail = (why: string): never => {
      throw new Error(`malformed KV snapshot (${data.length} bytes): ${why}`);
    };
    const need = (at: number, n: number) => (at + n <= buf.length ? at : fail(`truncated at byte ${at}`));
    let at = SNAPSHOT_MAGIC.length;
    const revision = buf.readDoubleLE(need(at, 12));
    const count = buf.readUInt32LE(at + 8);
    at += 12;
    const items = new Map<string, Item>();
    for (let i = 0; i < count; i++) {
      const keyBytes = buf.readUInt32LE(need(at, 4));
      const key = buf.toString('utf8', need(at + 4, keyBytes), at + 4 + keyBytes);
      at += 4 + keyBytes;
      const valueBytes = buf.readUInt32LE(need(at, 4));
      // A copy: a view would pin the whole snapshot for as long as any of its values lives.
      const value = new Uint8Array(buf.subarray(need(at + 4, valueBytes + 8), at + 4 + valueBytes));
      at += 4 + valueBytes;
      items.set(key, { value, modRevision: buf.readDoubleLE(at) });
      at += 8;
    }
    if (at !== buf.length) fail(`${buf.length - at} bytes after the last of ${count} items`);
    this.revision = revision;
    this.items = items;
  }

  /** Snapshots written before the binary format (msgpack); data dirs from then still open. */
  private restoreMsgpack(data: Uint8Array): void {
    const state = packr.unpack(data) as { revision: number; items: [string, Uint8Array, number][] };
    this.revision = state.revision;
    this.items = new Map(state.items.map(([key, value, modRevision]) => [key, { value, modRevision }]));
  }
}
