// Electron's main process: one window around the console service, hardened per Electron's
// security checklist. All console work is in electron/services; this file is glue.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, dialog, ipcMain, protocol, safeStorage, session, shell, type WebContents } from 'electron';
import { ConsoleService, type ConsoleSession } from '../services/console-service.js';
import { resolveDataDir } from '../services/paths.js';
import { HostsService } from '../services/remote/hosts-service.js';
import { RemoteHosts } from '../services/remote/remote-host.js';
import { desktopSecretStore } from '../services/remote/secret-store.js';
import { IPC_EVENT, IPC_INVOKE, toErrorShape, type IpcResponse } from '../shared/ws-protocol.js';
import { contentSecurityPolicy, contentTypeOf, fileInside, fileOrAppShell } from '../web/static-content.js';
import { allowedOrigins, APP_ORIGIN, APP_SCHEME, trustedDevServerUrl, isExternalLink, isTrustedSender, originOf } from './policy.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const rendererDir = join(here, '../renderer');
// Only a development build loads the renderer from a dev server.
const devServerUrl = trustedDevServerUrl(process.env, app.isPackaged);
const origins = allowedOrigins(devServerUrl);

protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);

let service: ConsoleService | null = null;
let hosts: HostsService | null = null;
const sessions = new Map<number, ConsoleSession>();

function serveRenderer(): void {
  protocol.handle(APP_SCHEME, async (request) => {
    const url = new URL(request.url);
    if (url.host !== 'renderer') return new Response('not found', { status: 404 });
    const requested = fileInside(rendererDir, url.pathname);
    if (!requested) return new Response('forbidden', { status: 403 });
    const found = await fileOrAppShell(rendererDir, requested);
    if (!found) return new Response('the renderer is not built', { status: 404 });
    return new Response(await readFile(found.file), { headers: { 'Content-Type': contentTypeOf(found.file), 'Content-Security-Policy': contentSecurityPolicy() } });
  });
}

function harden(): void {
  // No permission (camera, notifications, …) is ever needed.
  session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.defaultSession.setPermissionCheckHandler(() => false);
  if (devServerUrl) {
    session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
      callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [contentSecurityPolicy(['ws:'])] } });
    });
  }
  app.on('web-contents-created', (_event, contents) => {
    const stayInApp = (event: { preventDefault(): void }, url: string) => {
      if (!origins.has(originOf(url) ?? '')) event.preventDefault();
    };
    contents.on('will-navigate', stayInApp);
    contents.on('will-redirect', stayInApp);
    contents.on('will-attach-webview', (event) => event.preventDefault());
    contents.setWindowOpenHandler(({ url }) => {
      if (isExternalLink(url)) void shell.openExternal(url);
      return { action: 'deny' };
    });
  });
}

function sessionFor(contents: WebContents): ConsoleSession {
  let existing = sessions.get(contents.id);
  if (existing) return existing;
  if (!service) throw new Error('the console is not ready');
  existing = service.openSession((event, payload) => {
    if (!contents.isDestroyed()) contents.send(IPC_EVENT, event, payload);
  });
  sessions.set(contents.id, existing);
  contents.once('destroyed', () => {
    sessions.get(contents.id)?.close();
    sessions.delete(contents.id);
  });
  return existing;
}

function wireIpc(): void {
  ipcMain.handle(IPC_INVOKE, async (event, method: unknown, params: unknown): Promise<IpcResponse> => {
    const frame = event.senderFrame;
    if (!isTrustedSender(frame?.url, frame?.parent === null, origins)) {
      return { error: { code: 'refused', message: 'requests are accepted from the console window only' } };
    }
    try {
      const result = await sessionFor(event.sender).invoke(String(method), params);
      return { result: result ?? null };
    } catch (error) {
      return { error: toErrorShape(error) };
    }
  });
}

function createWindow(): void {
  const win = new BrowserWindow({
    width: 1440,
    height: 900,
    show: false,
    title: 'Raft Console',
    backgroundColor: '#101014',
    webPreferences: {
      preload: join(here, '../preload/index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      webviewTag: false,
      spellcheck: false,
    },
  });
  win.once('ready-to-show', () => win.show());
  void win.loadURL(devServerUrl ?? `${APP_ORIGIN}/index.html`);
}

async function main(): Promise<void> {
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return;
  }
  app.on('second-instance', () => {
    const [win] = BrowserWindow.getAllWindows();
    if (win) {
      if (win.isMinimized()) win.restore();
      win.focus();
    }
  });
  await app.whenReady();
  try {
    // The packaged binary's RunAsNode fuse is off (electron/packaging/fuses.ts): nodes then run under a Node of their own.
    const local = app.isPackaged ? { node: process.env.RAFT_CONSOLE_NODE || 'node' } : undefined;
    const dataDir = resolveDataDir(app.getPath('userData'));
    // SSH passphrases and passwords: encrypted by the OS keychain through safeStorage, else kept in memory only.
    const remoteDir = join(dataDir, 'remote');
    hosts = await HostsService.open({ dir: remoteDir, secrets: desktopSecretStore(join(remoteDir, 'secrets.json'), safeStorage) });
    service = await ConsoleService.open({ dataDir, local, hosts, remote: { hosts: new RemoteHosts(hosts) } });
  } catch (error) {
    dialog.showErrorBox('Raft Console cannot start', toErrorShape(error).message);
    app.quit();
    return;
  }
  harden();
  serveRenderer();
  wireIpc();
  createWindow();
  app.on('window-all-closed', () => app.quit());
  app.on('before-quit', (event) => {
    if (!service) return;
    // Release the data dir before leaving; local nodes keep running and are re-attached next time.
    event.preventDefault();
    const closing = service;
    service = null;
    void closing
      .close()
      .then(() => hosts?.close())
      .finally(() => app.quit());
  });
}

void main();
