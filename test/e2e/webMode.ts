// Starts the console's web mode as the user would (`npm run web`): builds the renderer, runs the web
// CLI on a fresh data dir, and on stop deletes every cluster it created so no raftd is left running.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import WebSocket from 'ws';
import type { ConsoleApi } from '../../electron/shared/api';
import type { Connection } from '../../renderer/src/api/connection';
import { webSocketUrl } from '../../renderer/src/api/client';
import { createWsConnection } from '../../renderer/src/api/wsClient';

export const root = fileURLToPath(new URL('../..', import.meta.url));
export const chromiumPath = '/usr/bin/chromium';
export const chromiumArgs = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const webCli = join(root, 'electron/web/cli.ts');

/** Why the end-to-end tests cannot run here, or null when they can. */
export function e2eUnavailable(): string | null {
  if (!existsSync(webCli)) return 'web mode (electron/web/cli.ts) is not in this checkout';
  if (!existsSync(chromiumPath)) return `Chromium is not installed at ${chromiumPath} (apt-get install -y chromium)`;
  return null;
}

export interface WebMode {
  url: string;
  /** The console API over the same WebSocket the page uses, for setup checks and clean-up. */
  api: ConsoleApi;
  /** The console's HOME: it reads ~/.ssh (known_hosts, config) from here, never from the user's. */
  home: string;
  stop(): Promise<void>;
}

/**
 * Builds the app (electron-vite) unless a build newer than every source is already there: the
 * browser files of one run share a build instead of each making its own (a minute apiece on 2 cores).
 * A lock directory keeps two test workers from building into out/ at the same time.
 */
export function buildRenderer(): void {
  const stamp = join(root, 'out', '.built-from-sources');
  withBuildLock(() => {
    if (existsSync(stamp) && statSync(stamp).mtimeMs >= newestSource()) return;
    // Stamped with the time the build began: a source saved during it makes the next call build again.
    const began = Date.now();
    const build = spawnSync(join(root, 'node_modules/.bin/electron-vite'), ['build', '--logLevel', 'warn'], { cwd: root, encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`electron-vite build failed:\n${build.stderr || build.stdout}`);
    writeFileSync(stamp, '');
    utimesSync(stamp, new Date(began - BUILD_CLOCK_SLACK_MS), new Date(began - BUILD_CLOCK_SLACK_MS));
  });
}

const BUILD_INPUT_DIRS = ['renderer', 'electron', 'core'];
const BUILD_INPUT_FILES = ['electron.vite.config.ts', 'package.json', 'package-lock.json', 'tsconfig.json'];
/** File times may be coarser than the clock: a stamp this much older never hides a source saved just before. */
const BUILD_CLOCK_SLACK_MS = 2000;

function newestSource(): number {
  let newest = 0;
  const visit = (path: string): void => {
    const info = statSync(path);
    if (info.isDirectory()) {
      for (const name of readdirSync(path)) if (name !== 'node_modules' && !name.startsWith('.')) visit(join(path, name));
    } else {
      newest = Math.max(newest, info.mtimeMs);
    }
  };
  for (const dir of BUILD_INPUT_DIRS) visit(join(root, dir));
  for (const file of BUILD_INPUT_FILES) if (existsSync(join(root, file))) visit(join(root, file));
  return newest;
}

function withBuildLock(build: () => void): void {
  const lock = join(root, 'out', '.build-lock');
  mkdirSync(join(root, 'out'), { recursive: true });
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // A lock older than any build is left over from a killed run.
      if (existsSync(lock) && Date.now() - statSync(lock).mtimeMs > 5 * 60_000) rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`waited 10 minutes for another test's build (${lock})`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }
  try {
    build();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export async function startWebMode(): Promise<WebMode> {
  const dataDir = mkdtempSync(join(tmpdir(), 'raft-console-e2e-'));
  const home = mkdtempSync(join(tmpdir(), 'raft-console-e2e-home-'));
  mkdirSync(join(home, '.ssh'), { mode: 0o700 });
  const child = spawn(join(root, 'node_modules/.bin/tsx'), [webCli], {
    cwd: root,
    env: { ...process.env, RAFT_CONSOLE_DATA_DIR: dataDir, RAFT_CONSOLE_PORT: '0', HOME: home },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /open (http:\/\/\S+)/.exec(output);
      if (match) resolve(match[1]);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`web mode exited with ${code} before it was ready:\n${output}`)));
  });
  let connection: Connection;
  try {
    connection = await connect(url);
  } catch (error) {
    await stopProcess(child);
    throw error;
  }
  return {
    url,
    api: connection.api,
    home,
    stop: async () => {
      await deleteAllClusters(connection.api);
      connection.close();
      await stopProcess(child);
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** The renderer's own WebSocket client, run in Node with the ws package. */
async function connect(pageUrl: string): Promise<Connection> {
  const connection = createWsConnection({ url: webSocketUrl(new URL(pageUrl)), WebSocketImpl: WebSocket as unknown as typeof globalThis.WebSocket });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('could not connect to web mode')), 15_000);
    connection.onStatus((status) => {
      if (status === 'open') {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return connection;
}

async function deleteAllClusters(api: ConsoleApi): Promise<void> {
  const clusters = await api.invoke('clusters.list', {}).catch(() => []);
  for (const c of clusters) await api.invoke('clusters.delete', { clusterId: c.id }).catch(() => undefined);
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Where every E2E file puts its screenshots, for a person to look at. */
export const SHOTS = join(root, 'test-results', 'console-e2e');

export interface ConsoleInBrowser {
  web: WebMode;
  browser: Browser;
  page: Page;
}

/**
 * The console as a user opens it: the renderer built, web mode started, Chromium on its page (1440×960)
 * with page errors logged. `beforeOpen` runs on the page before it loads (to watch its socket, say).
 */
export async function openConsoleInBrowser(beforeOpen?: (page: Page) => void): Promise<ConsoleInBrowser> {
  mkdirSync(SHOTS, { recursive: true });
  buildRenderer();
  const web = await startWebMode();
  const browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
  const page = await browser.newPage({ viewport: { width: 1440, height: 960 } });
  page.on('pageerror', (error) => console.error(`[e2e] page error: ${error.message}`));
  beforeOpen?.(page);
  await page.goto(web.url);
  return { web, browser, page };
}
