// npm run bench:core — proposals per second through a 3-node cluster of the pure consensus module:
// no disk, no network, messages handed over in memory. Measures the state machine's own cost.
import { RawNode } from '../raft/rawnode.js';
import { MemoryStorage } from '../raft/memory-storage.js';
import { confChangeCodec } from '../raft/codec.js';
import { EntryType, type Message } from '../raft/types.js';
import { seededRandom } from '../random.js';

function cluster(size: number) {
  const ids = Array.from({ length: size }, (_, i) => `n${i + 1}`);
  const random = seededRandom(1);
  const nodes = ids.map((id) => {
    const storage = new MemoryStorage();
    RawNode.bootstrap(storage, ids);
    return { id, storage, raw: new RawNode({ id, electionTick: 10, heartbeatTick: 1, storage, random, preVote: true, checkQuorum: true, maxInflightMsgs: 256, maxSizePerMsg: 1 << 20 }), applied: 0 };
  });
  const byId = new Map(nodes.map((n) => [n.id, n]));
  let queue: Message[] = [];
  const pump = () => {
    for (let guard = 0; guard < 1000; guard++) {
      let progressed = false;
      for (const n of nodes) {
        if (!n.raw.hasReady()) continue;
        progressed = true;
        const rd = n.raw.ready();
        if (rd.entries.length) n.storage.append(rd.entries);
        if (rd.hardState) n.storage.setHardState(rd.hardState);
        queue.push(...rd.messages);
        for (const e of rd.committedEntries) {
          if (e.type === EntryType.ConfChange) n.raw.applyConfChange(confChangeCodec.decode(e.data));
          n.applied = e.index;
        }
        n.raw.advance(rd);
      }
      const batch = queue;
      queue = [];
      for (const m of batch) byId.get(m.to)?.raw.step(m);
      if (!progressed && batch.length === 0) return;
    }
  };
  pump(); // apply the bootstrap configuration before anyone may campaign
  nodes[0].raw.campaign();
  pump();
  return { nodes, pump, leader: nodes[0] };
}

function run(batch: number, seconds: number): { ops: number; perSec: number } {
  const { nodes, pump, leader } = cluster(3);
  const payload = new Uint8Array(256).fill(7);
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(seconds * 1e9);
  let ops = 0;
  let ticks = 0;
  while (process.hrtime.bigint() < deadline) {
    for (let i = 0; i < batch; i++) leader.raw.propose(payload);
    pump();
    ops += batch;
    if (++ticks % 50 === 0) {
      for (const n of nodes) n.raw.tick();
      pump();
      // Compact behind the slowest node so memory stays flat over a long run.
      for (const n of nodes) {
        const min = Math.min(...nodes.map((x) => x.applied));
        if (min - n.storage.firstIndex() > 20_000) {
          n.storage.createSnapshot(min, n.raw.status().config, new Uint8Array());
          n.storage.compact(min);
        }
      }
    }
  }
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  const base = 4; // 3 bootstrap configuration entries + the leader's no-op
  if (leader.applied - base < ops) throw new Error(`only ${leader.applied - base} of ${ops} proposals were committed`);
  return { ops, perSec: ops / elapsed };
}

const seconds = Number(process.env.BENCH_SECONDS ?? 3);
console.log(`3-node in-memory cluster, 256-byte proposals, ${seconds} s per row`);
console.log('batch  proposals/s');
for (const batch of [1, 16, 256]) {
  const { perSec } = run(batch, seconds);
  console.log(`${String(batch).padStart(5)}  ${Math.round(perSec).toLocaleString('en-US').padStart(11)}`);
}
