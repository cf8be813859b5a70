// How log entries read to people: a one-line view for log lists, and the decoded content of one
// entry. Shared by raftd's /v1/log and the console's embedded clusters (through RaftdService).
import { confChangeCodec } from '../raft/codec.js';
import { EntryType, type Entry } from '../raft/types.js';
import { unwrap } from '../node/envelope.js';
import { decodeKvCommand, describeKvCommand } from '../kv/kv-store.js';
import { decodeMemberContext } from './state-machine.js';
import type { EntryView } from './wire.js';

export type { EntryView } from './wire.js';

export function entryView(entry: Entry): EntryView {
  if (entry.type === EntryType.ConfChange) {
    try {
      const change = confChangeCodec.decode(entry.data);
      const members = decodeMemberContext(unwrap(change.context ?? new Uint8Array()).payload);
      const parts = change.changes.map((c) => `${c.type} ${c.id}${members[c.id] ? ` (${members[c.id].peer})` : ''}`);
      const joint = parts.length > 1 || change.transition === 'joint' || change.transition === 'explicit';
      const summary = parts.length === 0 ? 'leave joint configuration' : joint ? `enter joint: ${parts.join(', ')}` : parts[0];
      return { index: entry.index, term: entry.term, type: 'config', summary };
    } catch {
      return { index: entry.index, term: entry.term, type: 'config', summary: '(undecodable configuration change)' };
    }
  }
  if (entry.data.length === 0) return { index: entry.index, term: entry.term, type: 'noop', summary: 'no-op (new leader)' };
  let summary: string;
  try {
    summary = describeKvCommand(unwrap(entry.data).payload);
  } catch {
    summary = `(${entry.data.length} bytes)`;
  }
  return { index: entry.index, term: entry.term, type: 'normal', summary };
}

/** The entry's content: the KV command with its values as text, a no-op, or the configuration change. */
export function decodeEntry(entry: Entry): unknown {
  if (entry.type === EntryType.ConfChange) {
    const change = confChangeCodec.decode(entry.data);
    const addresses = decodeMemberContext(unwrap(change.context ?? new Uint8Array()).payload);
    return { kind: 'config', changes: change.changes, transition: change.transition ?? 'auto', addresses };
  }
  if (entry.data.length === 0) return { kind: 'noop' };
  const command = decodeKvCommand(unwrap(entry.data).payload);
  const text = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));
  if (command.op === 'put') return { kind: 'kv', op: 'put', key: command.key, value: text(command.value) };
  if (command.op === 'del') return { kind: 'kv', op: 'del', key: command.key };
  return { kind: 'kv', op: 'cas', key: command.key, from: text(command.from), to: text(command.to) };
}
