// npm run bench:startup [-- --runs N]
// Start-up cost of the console as a user meets it: `npm start` spawned on a fresh data dir, and the
// time from the spawn to (1) the printed URL, (2) the first byte of that URL's answer, and (3) a
// leader shown in the page's header for the embedded demo cluster (Debian's Chromium through
// playwright-core, launched before the clock starts). Where no Electron binary exists, `npm start`
// builds the renderer and runs web mode (electron/start.ts), which is what this measures; with an
// Electron binary it would open a window and print no URL, so `npm run web` (the same build, then web
// mode) is measured instead, and says so. Each run also starts the console alone (no build), to tell
// the build's share from the console's. Prints numbers; asserts nothing.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium, type Browser } from 'playwright-core';

const root = fileURLToPath(new URL('../..', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
/** Every wait is bounded: a start-up that takes longer is reported as failed. */
const STEP_TIMEOUT_MS = 180_000;

interface Run {
  urlMs: number;
  firstByteMs: number;
  /** The console's page drawn (its root element in the DOM). */
  appMs: number;
  leaderMs: number;
  /** From the page's navigation start to the leader shown (the page's own share). */
  pageMs: number;
  leader: string;
}

/** The time from `start` until the first byte of the answer to GET `url`. */
function firstByte(url: string, start: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, (res) => {
      res.once('data', () => {
        resolve(performance.now() - start);
        res.destroy();
      });
      res.once('end', () => resolve(performance.now() - start));
    });
    req.setTimeout(STEP_TIMEOUT_MS, () => req.destroy(new Error(`no answer from ${url}`)));
    req.once('error', reject);
    req.end();
  });
}

function stopGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || !child.pid) return Promise.resolve();
  const pid = child.pid;
  return new Promise((resolve) => {
    const force = setTimeout(() => {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // gone
      }
    }, 10_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    try {
      // npm → sh → tsx → node: the whole group, so the console's own process stops too.
      process.kill(-pid, 'SIGTERM');
    } catch {
      clearTimeout(force);
      resolve();
    }
  });
}

/** What is started: `npm start` as a user runs it, or the console alone on the renderer built by the run before. */
function hasElectronRuntime(): boolean {
  try {
    const binary = createRequire(import.meta.url)('electron') as unknown;
    return typeof binary === 'string' && existsSync(binary);
  } catch {
    return false;
  }
}

const STARTS = {
  [hasElectronRuntime() ? 'npm run web (npm start opens a window here)' : 'npm start']: hasElectronRuntime() ? ['npm', ['run', 'web', '--silent']] : ['npm', ['start', '--silent']],
  'console alone (no build)': [join(root, 'node_modules/.bin/tsx'), [join(root, 'electron/web/cli.ts')]],
} as const satisfies Record<string, readonly [string, readonly string[]]>;

async function measure(browser: Browser, [command, args]: readonly [string, readonly string[]]): Promise<Run> {
  const dataDir = mkdtempSync(join(tmpdir(), 'raft-console-startup-'));
  const page = await browser.newPage({ viewport: { width: 1440, height: 960 } });
  const start = performance.now();
  const child = spawn(command, args, {
    cwd: root,
    detached: true,
    env: { ...process.env, RAFT_CONSOLE_DATA_DIR: dataDir, RAFT_CONSOLE_PORT: '0', ELECTRON_SKIP_BINARY_DOWNLOAD: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let output = '';
      const timer = setTimeout(() => reject(new Error(`${command} printed no URL within ${STEP_TIMEOUT_MS} ms:\n${output}`)), STEP_TIMEOUT_MS);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        const match = /open (http:\/\/\S+)/.exec(output);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${command} exited (${code}) before printing a URL:\n${output}`));
      });
    });
    const urlMs = performance.now() - start;
    const firstByteMs = await firstByte(url, start);
    const navigated = performance.now();
    await page.goto(url, { timeout: STEP_TIMEOUT_MS });
    await page.locator('[data-testid="app"]').waitFor({ timeout: STEP_TIMEOUT_MS });
    const appMs = performance.now() - start;
    const leader = page.locator('[data-testid="header-leader"]').filter({ hasNotText: /^none$/ });
    await leader.waitFor({ timeout: STEP_TIMEOUT_MS });
    const leaderMs = performance.now() - start;
    return { urlMs, firstByteMs, appMs, leaderMs, pageMs: performance.now() - navigated, leader: (await leader.innerText()).trim() };
  } finally {
    await page.close();
    await stopGroup(child);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' } } });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1 || runs > 20) throw new Error('--runs must be an integer in 1..20');
  if (!existsSync(CHROMIUM)) {
    console.log(`bench:startup skipped: Chromium is not installed at ${CHROMIUM} (apt-get install -y chromium)`);
    return;
  }
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const results = new Map<string, Run[]>(Object.keys(STARTS).map((name) => [name, []]));
  const f = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  try {
    console.log(`${runs} run(s), each on a fresh data dir. npm start: where no Electron binary exists, it builds the renderer and runs web mode.`);
    console.log(`${'run'.padEnd(28)}  printed URL  first byte  page drawn  leader shown  (page alone)`);
    for (let i = 1; i <= runs; i++) {
      for (const [name, start] of Object.entries(STARTS)) {
        const r = await measure(browser, start);
        results.get(name)!.push(r);
        console.log(`${`${i} ${name}`.padEnd(28)}  ${f(r.urlMs).padStart(11)}  ${f(r.firstByteMs).padStart(10)}  ${f(r.appMs).padStart(10)}  ${f(r.leaderMs).padStart(12)}  ${f(r.pageMs).padStart(12)}   leader ${r.leader}`);
      }
    }
  } finally {
    await browser.close();
  }
  for (const [name, rs] of results) {
    const m = (pick: (r: Run) => number) => f(median(rs.map(pick)));
    console.log(`median, ${name}: printed URL ${m((r) => r.urlMs)}, first byte ${m((r) => r.firstByteMs)}, page drawn ${m((r) => r.appMs)}, leader shown ${m((r) => r.leaderMs)} (of which the page ${m((r) => r.pageMs)})`);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
