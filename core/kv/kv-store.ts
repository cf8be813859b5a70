// The replicated key-value state machine: put, delete and compare-and-swap, each bumping a
// store-wide revision. Commands and snapshots are msgpack (compact, keeps values as bytes).
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

  snapshot(): Uint8Array {
    const items: [string, Uint8Array, number][] = [];
    for (const [key, item] of this.items) items.push([key, item.value, item.modRevision]);
    return packr.pack({ revision: this.revision, items });
  }

  restore(data: Uint8Array): void {
    const state = packr.unpack(data) as { revision: number; items: [string, Uint8Array, number][] };
    this.revision = state.revision;
    this.items = new Map(state.items.map(([key, value, modRevision]) => [key, { value, modRevision }]));
  }
}
