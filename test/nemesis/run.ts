// The long form of the nemesis (npm run test:nemesis): 3 and 5 raftd nodes under faults, every
// history checked for linearizability; prints a summary per run and exits 1 if any run failed.
//   npm run test:nemesis -- [--nodes 3,5] [--duration 120] [--seed N] [--faults kill,pause,...] [--overlap] [--stale]
// --overlap strikes again without waiting for the cluster to recover from the last fault.
// --stale reads with ?stale=1 from any node and still checks them as linearizable: it must FAIL.
import { parseArgs } from 'node:util';
import { ALL_FAULTS, passed, runNemesis, summarize, type FaultKind } from './nemesis.js';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '3,5' },
    duration: { type: 'string', default: '120' },
    seed: { type: 'string' },
    stale: { type: 'boolean', default: false },
    overlap: { type: 'boolean', default: false },
    faults: { type: 'string', default: ALL_FAULTS.join(',') },
  },
});
const sizes = values.nodes.split(',').map(Number);
const durationMs = Number(values.duration) * 1000;
if (sizes.some((n) => !Number.isInteger(n) || n < 1 || n > 9) || !(durationMs > 0)) {
  console.error('usage: run.ts [--nodes 3,5] [--duration SECONDS] [--seed N] [--stale]');
  process.exit(2);
}
const faults = values.faults.split(',') as FaultKind[];
if (faults.some((f) => !ALL_FAULTS.includes(f))) {
  console.error(`--faults: choose from ${ALL_FAULTS.join(',')}`);
  process.exit(2);
}
const seed = values.seed ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
let failures = 0;
for (const nodes of sizes) {
  const report = await runNemesis({ nodes, durationMs, seed, staleReads: values.stale, overlap: values.overlap, faults, log: (line) => console.log(line) });
  console.log(summarize(report));
  if (!passed(report)) failures++;
}
console.log(failures === 0 ? 'nemesis: PASS' : `nemesis: FAIL (${failures} of ${sizes.length} runs)`);
process.exit(failures === 0 ? 0 : 1);
