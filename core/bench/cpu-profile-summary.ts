// npx tsx core/bench/cpu-profile-summary.ts FILE.cpuprofile [--top 40]
// Where a V8 CPU profile (node --cpu-prof, e.g. from `npm run bench -- --cpu-prof DIR`) spends its
// time: self time summed by area (HTTP, JSON/msgpack, WAL, transport, raft, GC, idle...), by
// source file and by function. raftd runs from an esbuild bundle; its "// core/..." markers map
// bundle lines back to source files.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '40' } } });
if (positionals.length !== 1) {
  console.error('usage: cpu-profile-summary.ts FILE.cpuprofile [--top N]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(positionals[0], 'utf8')) as Profile;

/** Line ranges of a bundle → the source file each came from. */
const bundleMaps = new Map<string, { line: number; file: string }[]>();
function sourceOf(url: string, line: number): string {
  if (!url.includes('/out/')) return url.replace(/^file:\/\/.*?\/node_modules\//, '').replace(/^file:\/\//, '');
  let map = bundleMaps.get(url);
  if (!map) {
    map = [];
    const path = fileURLToPath(url);
    if (existsSync(path)) {
      readFileSync(path, 'utf8')
        .split('\n')
        .forEach((text, i) => {
          const m = /^\/\/ ((?:core|node_modules)\/\S+)$/.exec(text);
          if (m) map!.push({ line: i, file: m[1] });
        });
    }
    bundleMaps.set(url, map);
  }
  let file = url;
  for (const mark of map) if (mark.line <= line) file = mark.file;
  return file;
}

function area(file: string, fn: string): string {
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(idle)') return 'idle (waiting for I/O)';
  if (fn === '(program)') return 'V8/runtime (program)';
  if (/server\/http-|^node:_http|node:internal\/http|llhttp/.test(file)) return 'HTTP (client port)';
  if (/transport\//.test(file)) return 'peer transport (frames, codec)';
  if (/msgpackr/.test(file)) return 'msgpack';
  if (/storage\//.test(file)) return 'WAL / snapshots (JS side)';
  if (/node:internal\/fs|node:fs/.test(file)) return 'fs (node)';
  if (/node:net|node:internal\/stream|node:stream|node:internal\/net|node:internal\/streams/.test(file) || fn === 'writeGeneric' || fn === 'writevGeneric') return 'sockets/streams (node)';
  if (/core\/raft\//.test(file)) return 'raft core';
  if (/core\/node\//.test(file)) return 'node driver (ready loop)';
  if (/core\/(kv|service)\//.test(file)) return 'state machine / service';
  if (/zod/.test(file)) return 'zod';
  if (/pino/.test(file)) return 'logging';
  if (/node:internal\/(timers|process\/task_queues)|node:timers/.test(file)) return 'timers / microtasks (node)';
  if (file === '' || file.startsWith('node:')) return `native / node internals`;
  return 'other';
}

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<number, number>();
let total = 0;
for (let i = 0; i < profile.samples.length; i++) {
  const dt = profile.timeDeltas[i] ?? 0;
  self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + dt);
  total += dt;
}

const areas = new Map<string, number>();
const files = new Map<string, number>();
const functions = new Map<string, number>();
for (const [id, us] of self) {
  const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
  const file = sourceOf(url, lineNumber);
  const fn = functionName || '(anonymous)';
  const a = area(file, fn);
  areas.set(a, (areas.get(a) ?? 0) + us);
  files.set(file || '(native)', (files.get(file || '(native)') ?? 0) + us);
  const key = `${fn}  ${file || '(native)'}`;
  functions.set(key, (functions.get(key) ?? 0) + us);
}

const busy = total - (areas.get('idle (waiting for I/O)') ?? 0);
const show = (title: string, table: Map<string, number>, limit: number) => {
  console.log(`\n${title}`);
  for (const [name, us] of [...table].sort((a, b) => b[1] - a[1]).slice(0, limit)) {
    const idle = name.startsWith('idle') || name.startsWith('(idle)');
    console.log(`${(us / 1000).toFixed(0).padStart(8)} ms  ${((us / total) * 100).toFixed(1).padStart(5)}% of all  ${idle ? '      ' : `${((us / busy) * 100).toFixed(1).padStart(5)}%`} of busy  ${name}`);
  }
};
console.log(`${positionals[0]}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy`);
show('by area', areas, 30);
show('by file', files, 25);
show('by function', functions, Number(values.top));
