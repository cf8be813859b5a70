// Data-driven interaction tests (after etcd-io/raft's rafttest): each testdata/*.txt is a script of
// commands, each followed by "----" and the exact trace it must produce. Blocks are separated by
// blank lines; lines starting with # are comments. REWRITE=1 regenerates the expected traces
// (review the diff before committing it).
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ProposalRejected, type ConfChange, type ConfChangeSingle, type NodeId } from '../../../core/raft/types.js';
import { Network, bytes, formatEntry, formatStatus, type NodeOptions } from './harness.js';

const dataDir = fileURLToPath(new URL('./testdata/', import.meta.url));

interface Block {
  comments: string[];
  command: string;
  expected: string;
}

function parse(text: string): Block[] {
  const blocks: Block[] = [];
  for (const chunk of text.split(/\n\s*\n/)) {
    const lines = chunk.split('\n').filter((l) => l.trim() !== '');
    if (lines.length === 0) continue;
    const comments = lines.filter((l) => l.startsWith('#'));
    const rest = lines.filter((l) => !l.startsWith('#'));
    const separator = rest.indexOf('----');
    if (rest.length === 0) continue;
    if (separator !== 1) throw new Error(`malformed block (one command, then ----):\n${chunk}`);
    blocks.push({ comments, command: rest[0], expected: rest.slice(2).join('\n') });
  }
  return blocks;
}

function render(blocks: Block[]): string {
  return blocks.map((b) => [...b.comments, b.command, '----', b.expected].join('\n')).join('\n\n') + '\n';
}

/** `key=value` and `key=(a,b)` arguments, and the positional rest. */
function args(words: string[]): { positional: string[]; named: Map<string, string[]> } {
  const positional: string[] = [];
  const named = new Map<string, string[]>();
  for (const word of words) {
    const match = /^([a-z-]+)=\(?([^)]*)\)?$/.exec(word);
    if (match) named.set(match[1], match[2] === '' ? [] : match[2].split(','));
    else positional.push(word);
  }
  return { positional, named };
}

function nodeOptions(named: Map<string, string[]>): NodeOptions {
  const options: NodeOptions = {};
  if (named.get('pre-vote')?.[0] === 'true') options.preVote = true;
  if (named.get('check-quorum')?.[0] === 'true') options.checkQuorum = true;
  if (named.has('read-only')) options.readOnlyOption = named.get('read-only')![0] as 'safe' | 'lease';
  if (named.has('max-inflight')) options.maxInflightMsgs = Number(named.get('max-inflight')![0]);
  if (named.has('max-size')) options.maxSizePerMsg = Number(named.get('max-size')![0]);
  return options;
}

function confChange(words: string[], named: Map<string, string[]>): ConfChange {
  const types: Record<string, ConfChangeSingle['type']> = { v: 'addVoter', l: 'addLearner', r: 'remove' };
  const changes = words.map((w) => {
    const type = types[w[0]];
    if (!type) throw new Error(`unknown change ${w}: use v<id>, l<id> or r<id>`);
    return { type, id: w.slice(1) };
  });
  const transition = named.get('transition')?.[0] as ConfChange['transition'];
  return transition ? { changes, transition } : { changes };
}

/** Runs a command; returns the lines it printed. */
function run(net: Network, command: string): string[] {
  const [name, ...words] = command.split(/\s+/);
  const { positional, named } = args(words);
  const ids = () => (positional.length > 0 ? positional : net.ids());
  const out: string[] = [];
  const refusable = (fn: () => void) => {
    try {
      fn();
    } catch (err) {
      if (!(err instanceof ProposalRejected)) throw err;
      out.push(`rejected: ${err.reason}`);
    }
  };
  switch (name) {
    case 'add-nodes': {
      const voters = named.get('voters');
      const added: NodeId[] = [];
      for (let i = 0; i < Number(positional[0]); i++) {
        const id = String(net.nodes.size + 1);
        net.add(id, voters, nodeOptions(named));
        added.push(id);
      }
      // Apply the bootstrap entries quietly: every script starts from members that know each other.
      for (const id of added) while (net.processReady(id));
      net.takeTrace();
      for (const id of added) out.push(...formatStatus(net.node(id)));
      return out;
    }
    case 'campaign':
      net.node(positional[0]).raw.campaign();
      break;
    case 'propose':
      refusable(() => net.node(positional[0]).raw.propose(bytes(positional[1])));
      break;
    case 'propose-conf-change':
      refusable(() => net.node(positional[0]).raw.proposeConfChange(confChange(positional.slice(1), named)));
      break;
    case 'read-index':
      refusable(() => net.node(positional[0]).raw.readIndex(bytes(positional[1])));
      break;
    case 'transfer-leadership':
      refusable(() => net.node(positional[0]).raw.transferLeadership(positional[1]));
      break;
    case 'stabilize':
      net.stabilize(ids());
      break;
    case 'process-ready':
      for (const id of ids()) net.processReady(id);
      break;
    case 'deliver-msgs':
      net.drop(named.get('drop') ?? []);
      if (positional.length > 0) net.deliver(positional);
      break;
    case 'tick-election':
      for (const id of ids()) net.tickElection(id);
      break;
    case 'tick-heartbeat':
      for (const id of ids()) net.tick(id);
      break;
    case 'partition':
      net.partition(...words.join(' ').split('/').map((group) => group.trim().split(/\s+/)));
      break;
    case 'heal':
      net.heal();
      break;
    case 'compact': {
      const node = net.node(positional[0]);
      node.storage.createSnapshot(node.appliedIndex, node.confState, bytes(JSON.stringify(node.applied)));
      node.storage.compact(node.appliedIndex);
      out.push(`compacted ${positional[0]} up to ${node.appliedIndex}`);
      break;
    }
    case 'status':
      for (const id of ids()) out.push(...formatStatus(net.node(id)));
      break;
    case 'log':
      for (const id of ids()) {
        const { storage } = net.node(id);
        const entries = storage.entries(storage.firstIndex(), storage.lastIndex() + 1);
        out.push(`${id}: ${entries.map(formatEntry).join(', ') || '(empty)'}`);
      }
      break;
    default:
      throw new Error(`unknown command ${name}`);
  }
  const lines = [...net.takeTrace(), ...out];
  return lines.length > 0 ? lines : ['ok'];
}

const files = readdirSync(dataDir).filter((f) => f.endsWith('.txt')).sort();

describe('interaction scripts', () => {
  it('has scripts', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  for (const file of files) {
    it(file, () => {
      const path = dataDir + file;
      const blocks = parse(readFileSync(path, 'utf8'));
      const net = new Network({}, 1);
      const actual = blocks.map((b) => ({ ...b, expected: run(net, b.command).join('\n') }));
      if (process.env.REWRITE) {
        writeFileSync(path, render(actual));
        return;
      }
      blocks.forEach((b, i) => expect(actual[i].expected, `${file}: ${b.command}`).toBe(b.expected));
    });
  }
});
