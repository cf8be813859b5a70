import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConsoleService } from '../../../electron/services/console-service.js';
import { isLoopbackHost, startWebServer, type WebServer } from '../../../electron/web/server.js';
import type { ActivityItem, ClusterSummary } from '../../../electron/shared/api.js';
import { TOKEN_PARAM, WS_PATH } from '../../../electron/shared/ws-protocol.js';
import { connectApi, eventually, openSocket, tempDir } from '../helpers.js';

describe('web mode server', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let service: ConsoleService;
  let server: WebServer;

  beforeEach(async () => {
    dir = await tempDir();
    const staticDir = join(dir.path, 'renderer');
    await mkdir(staticDir);
    await writeFile(join(staticDir, 'index.html'), '<!doctype html><title>Raft Console</title>');
    service = await ConsoleService.open({ dataDir: join(dir.path, 'data'), demoOnFirstRun: false });
    server = await startWebServer({ service, staticDir });
  });

  afterEach(async () => {
    await server.close();
    await service.close();
    await dir.remove();
  });

  const wsUrl = (token: string) => `ws://127.0.0.1:${server.port}${WS_PATH}?${TOKEN_PARAM}=${token}`;

  it('prints a loopback URL carrying the session token', () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/?${TOKEN_PARAM}=${server.token}`);
    expect(server.token.length).toBeGreaterThanOrEqual(32);
  });

  it('refuses to listen anywhere but loopback', async () => {
    await expect(startWebServer({ service, host: '0.0.0.0' })).rejects.toThrow(/loopback only/);
    expect(['127.0.0.1', '127.1.2.3'].map(isLoopbackHost)).toEqual([true, true]);
    expect(['0.0.0.0', '192.168.1.2', 'localhost', '127.0.0.1.evil.example', '::'].map(isLoopbackHost)).toEqual([false, false, false, false, false]);
  });

  it('serves the renderer with a strict content security policy and keeps requests inside its folder', async () => {
    const page = await fetch(`http://127.0.0.1:${server.port}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Raft Console');
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain(`ws://127.0.0.1:${server.port}`);
    expect(csp).not.toContain('unsafe-eval');

    const escape = await fetch(`http://127.0.0.1:${server.port}/..%2f..%2fetc%2fpasswd`);
    expect(escape.status).toBe(403);
  });

  it('serves files as they are and client-side routes as the app shell', async () => {
    await writeFile(join(dir.path, 'renderer', 'app.js'), 'console.log(1);');
    const asset = await fetch(`http://127.0.0.1:${server.port}/app.js`);
    expect(asset.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(asset.headers.get('content-length')).toBe('15');
    expect(await asset.text()).toBe('console.log(1);');

    const route = await fetch(`http://127.0.0.1:${server.port}/clusters/demo/faults`);
    expect(route.status).toBe(200);
    expect(route.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await route.text()).toContain('<title>Raft Console</title>');
    const head = await fetch(`http://127.0.0.1:${server.port}/`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('refuses a WebSocket without the right token, from another origin, or for another host', async () => {
    await expect(openSocket(wsUrl('wrong'))).rejects.toThrow('HTTP 401');
    await expect(openSocket(wsUrl(server.token), { Origin: 'http://evil.example' })).rejects.toThrow('HTTP 403');
    await expect(openSocket(wsUrl(server.token), { Host: 'rebound.example:80' })).rejects.toThrow('HTTP 421');
    const ok = await openSocket(wsUrl(server.token), { Origin: `http://127.0.0.1:${server.port}` });
    ok.close();
  });

  it('rejects invalid input with a clear message naming the field, and unknown methods', async () => {
    const api = await connectApi(wsUrl(server.token));
    try {
      await expect(api.invoke('clusters.create', { name: 'x', kind: 'local', size: 0 })).rejects.toMatchObject({
        code: 'invalid-input',
        message: expect.stringMatching(/^clusters\.create: size: /),
      });
      await expect(api.invoke('node.kill', { clusterId: 'a b', nodeId: 'n1' })).rejects.toMatchObject({
        code: 'invalid-input',
        message: 'node.kill: clusterId: use letters, digits, _ . -',
      });
      await expect(api.invoke('no.such' as 'clusters.list', {})).rejects.toMatchObject({ message: 'unknown method "no.such"' });
      await expect(api.invoke('cluster.state', { clusterId: 'missing' })).rejects.toMatchObject({ code: 'not-found', message: 'no cluster "missing"' });
      // The connection survives bad requests.
      expect(await api.invoke('clusters.list', {})).toEqual([]);
    } finally {
      api.close();
    }
  });

  it('answers a malformed frame with a readable error on id 0', async () => {
    const socket = await openSocket(wsUrl(server.token));
    const reply = new Promise<unknown>((resolve) => socket.once('message', (data) => resolve(JSON.parse(String(data)))));
    socket.send('{not json');
    expect(await reply).toEqual({ id: 0, error: { code: 'invalid-input', message: 'request is not valid JSON' } });
    socket.close();
  });

  it('runs requests and pushes events to the socket', async () => {
    const api = await connectApi(wsUrl(server.token));
    try {
      const changed = new Promise<ClusterSummary[]>((resolve) => api.on('clusters.changed', resolve));
      const pushed: ActivityItem[] = [];
      api.on('activity', (item) => pushed.push(item));
      const created = await api.invoke('clusters.create', { name: 'My Cluster', kind: 'local', size: 3, nodeNames: ['a', 'b', 'c'] });
      expect(created).toMatchObject({ id: 'my-cluster', name: 'My Cluster', kind: 'local', health: 'stopped' });
      expect(created.nodes.map((n) => n.id)).toEqual(['a', 'b', 'c']);
      expect((await changed).map((c) => c.id)).toEqual(['my-cluster']);
      const activity = await api.invoke('activity.list', {});
      // One item per action: pushed when it starts, pushed again with the same id when it ends.
      expect(activity.map((a) => a.outcome)).toEqual(['ok']);
      await eventually(() => (pushed.length === 2 ? true : undefined), 'both activity pushes');
      expect(pushed.map((a) => [a.id, a.outcome])).toEqual([
        [activity[0].id, 'started'],
        [activity[0].id, 'ok'],
      ]);
    } finally {
      api.close();
    }
  });
});
