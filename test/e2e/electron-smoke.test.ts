// The desktop window itself: the built app (`npm run build`'s output) under the real Electron binary,
// driven by playwright-core's _electron. It opens the window, sees the embedded demo elect a leader,
// and checks the window's security settings (electron/main/index.ts, policy.ts). Where the Electron
// binary is not installed (ELECTRON_SKIP_BINARY_DOWNLOAD=1, as on the build machines) it skips, saying why.
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { _electron, type ElectronApplication, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentSecurityPolicy } from '../../electron/web/static-content';
import { APP_ORIGIN } from '../../electron/main/policy';
import { root } from './webMode';

/** The Electron binary the `electron` package names, when it is really there and executable. */
function electronBinary(): { path: string } | { reason: string } {
  let path: unknown;
  try {
    // The package exports its binary's path, and throws when the binary was never downloaded.
    path = createRequire(import.meta.url)('electron');
  } catch (error) {
    return { reason: `the Electron binary is not installed (${(error as Error).message.split('\n')[0]}; install without ELECTRON_SKIP_BINARY_DOWNLOAD=1)` };
  }
  if (typeof path !== 'string' || !existsSync(path)) return { reason: `the electron package names no binary that exists (${String(path)})` };
  try {
    accessSync(path, constants.X_OK);
  } catch {
    return { reason: `the Electron binary ${path} is not executable` };
  }
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
    return { reason: 'no display for the window (DISPLAY and WAYLAND_DISPLAY unset): run under xvfb-run' };
  }
  return { path };
}

const electron = electronBinary();
const skipReason = 'reason' in electron ? electron.reason : null;
if (skipReason) console.warn(`[e2e] Electron smoke test skipped: ${skipReason}`);

const SHOTS = join(root, 'test-results', 'console-e2e');
/** Its own build (inside the checkout, so the bundle finds node_modules): out/ may be served by web-mode tests running beside it. */
const BUILD = join(root, '.tmp', 'electron-smoke');
const LONG = 90_000;

describe.skipIf(skipReason !== null)('the desktop window (Electron)', () => {
  let app: ElectronApplication;
  let page: Page;
  let home: string;

  beforeAll(async () => {
    if (!('path' in electron)) return;
    mkdirSync(SHOTS, { recursive: true });
    // `npm run build` (main, preload and renderer) into BUILD instead of out/.
    const build = spawnSync(join(root, 'node_modules/.bin/electron-vite'), ['build', '--logLevel', 'warn', '--outDir', BUILD, '--emptyOutDir'], { cwd: root, encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`electron-vite build failed:\n${build.stderr || build.stdout}`);
    home = mkdtempSync(join(tmpdir(), 'raft-console-electron-'));
    const { ELECTRON_RENDERER_URL: _devServer, ...env } = process.env;
    app = await _electron.launch({
      executablePath: electron.path,
      args: [join(BUILD, 'main/index.js')],
      cwd: root,
      // Its own data dir and config dir (userData, the single-instance lock): never the user's console.
      env: { ...env, RAFT_CONSOLE_DATA_DIR: join(home, 'data'), XDG_CONFIG_HOME: join(home, 'config'), HOME: home } as Record<string, string>,
      timeout: LONG,
    });
    page = await app.firstWindow({ timeout: LONG });
    page.on('pageerror', (error) => console.error(`[e2e] electron page error: ${error.message}`));
  }, 240_000);

  afterAll(async () => {
    await app?.close().catch(() => undefined);
    if (home) rmSync(home, { recursive: true, force: true });
  }, 60_000);

  const tid = (id: string) => page.locator(`[data-testid="${id}"]`);

  it('opens the console window on the embedded demo, which elects a leader', async () => {
    await tid('app').waitFor({ timeout: LONG });
    expect(page.url().startsWith(`${APP_ORIGIN}/`)).toBe(true);
    expect(await app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows().map((w) => w.getTitle()))).toHaveLength(1);
    await tid('view-dashboard').waitFor({ timeout: LONG });
    await expect.poll(() => page.locator('[data-testid^="node-role-"]', { hasText: /^leader$/ }).count(), { timeout: LONG }).toBe(1);
    expect((await tid('header-leader').innerText()).trim()).not.toBe('none');
    await page.screenshot({ path: join(SHOTS, 'electron-window.png'), animations: 'disabled' });
  }, 2 * LONG);

  it('runs the page isolated: context isolation, sandbox, no Node, web security, no webview', async () => {
    // What the page's own world can reach: no Node, and the preload's bridge offers the console API and nothing else.
    expect(
      await page.evaluate(() => ({
        require: typeof (globalThis as { require?: unknown }).require,
        process: typeof (globalThis as { process?: unknown }).process,
        bridge: Object.keys((globalThis as unknown as { raftConsole: object }).raftConsole).sort(),
      })),
    ).toEqual({ require: 'undefined', process: 'undefined', bridge: ['invoke', 'on'] });
    expect(await page.locator('webview').count()).toBe(0);

    // Electron has no getter for a window's webPreferences: a probe preload, added to the session, runs as the
    // app's preload does (same world, same sandbox) and reports what it finds; the window reloads to run it.
    const probe = join(home, 'security-probe.cjs');
    writeFileSync(
      probe,
      `const { contextBridge } = require('electron');
let nodeModules = false;
try { require('fs'); nodeModules = true; } catch {}
contextBridge.exposeInMainWorld('securityProbe', {
  sandboxed: process.sandboxed === true,
  contextIsolated: process.contextIsolated === true,
  nodeModules,
  crossOrigin: (url) => fetch(url).then((r) => r.text()).then(() => 'read', () => 'refused'),
});
`,
    );
    const server = createServer((_req, res) => res.end('cross-origin body'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      await app.evaluate(({ BrowserWindow, session }, filePath) => {
        session.defaultSession.registerPreloadScript({ type: 'frame', id: 'security-probe', filePath });
        BrowserWindow.getAllWindows()[0].webContents.reload();
      }, probe);
      await page.waitForFunction(() => 'securityProbe' in globalThis, undefined, { timeout: LONG });
      await tid('app').waitFor({ timeout: LONG });
      type Probe = { sandboxed: boolean; contextIsolated: boolean; nodeModules: boolean; crossOrigin(url: string): Promise<string> };
      const seen = await page.evaluate(async (url) => {
        const p = (globalThis as unknown as { securityProbe: Probe }).securityProbe;
        return { sandboxed: p.sandboxed, contextIsolated: p.contextIsolated, nodeModules: p.nodeModules, crossOrigin: await p.crossOrigin(url) };
      }, `http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      // A response without CORS headers stays unreadable from app://renderer (web security; the CSP's connect-src too).
      expect(seen).toEqual({ sandboxed: true, contextIsolated: true, nodeModules: false, crossOrigin: 'refused' });
    } finally {
      await app.evaluate(({ session }) => session.defaultSession.unregisterPreloadScript('security-probe')).catch(() => undefined);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }, LONG);

  it('serves the page with the content security policy, which blocks inline script', async () => {
    expect(await page.evaluate(async () => (await fetch(location.href)).headers.get('content-security-policy'))).toBe(contentSecurityPolicy());
    const ran = await page.evaluate(async () => {
      const g = globalThis as { inlineRan?: boolean };
      const script = document.createElement('script');
      script.textContent = 'globalThis.inlineRan = true';
      document.body.append(script);
      await new Promise((resolve) => setTimeout(resolve, 100));
      return g.inlineRan === true;
    });
    expect(ran).toBe(false);
  });

  it('blocks navigation away from the app and opens no new window', async () => {
    // The main process records what the page tries (listeners added after the app's own).
    await app.evaluate(({ BrowserWindow }) => {
      const contents = BrowserWindow.getAllWindows()[0].webContents;
      const seen: { willNavigate: string[]; started: string[] } = { willNavigate: [], started: [] };
      (globalThis as { seen?: typeof seen }).seen = seen;
      contents.on('will-navigate', (_event, url) => seen.willNavigate.push(url));
      contents.on('did-start-navigation', (details) => seen.started.push(details.url));
    });
    const outside = 'http://127.0.0.1:9/'; // loopback only: nothing may leave the machine even if this failed
    await page.evaluate((url) => {
      location.href = url;
    }, outside);
    await expect.poll(() => app.evaluate(() => (globalThis as unknown as { seen: { willNavigate: string[] } }).seen.willNavigate), { timeout: LONG }).toContain(outside);
    await tid('app').waitFor();
    const seen = await app.evaluate(() => (globalThis as unknown as { seen: { started: string[] } }).seen);
    expect(seen.started).not.toContain(outside);
    expect(page.url().startsWith(`${APP_ORIGIN}/`)).toBe(true);

    // window.open is denied (an app: URL, so nothing is handed to the system browser either).
    expect(await page.evaluate(() => window.open(`${location.origin}/index.html`) === null)).toBe(true);
    expect(await app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows().length)).toBe(1);
  });
});
