// The renderer's own WebSocket client against the web-mode server: both sides of the protocol agree.
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createWsConnection } from '../../../renderer/src/api/wsClient.js';
import { webSocketUrl } from '../../../renderer/src/api/client.js';
import { ConsoleService } from '../../../electron/services/console-service.js';
import type { ClusterState } from '../../../electron/shared/api.js';
import { startWebServer, type WebServer } from '../../../electron/web/server.js';
import { eventually, tempDir } from '../helpers.js';

describe('renderer client over web mode', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let service: ConsoleService;
  let server: WebServer;

  beforeEach(async () => {
    dir = await tempDir();
    service = await ConsoleService.open({ dataDir: join(dir.path, 'data') });
    server = await startWebServer({ service });
  });

  afterEach(async () => {
    await server.close();
    await service.close();
    await dir.remove();
  });

  it('connects with the token from the page URL, calls the API and receives events', async () => {
    const page = new URL(server.url);
    const connection = createWsConnection({ url: webSocketUrl(page), WebSocketImpl: WebSocket as unknown as typeof globalThis.WebSocket });
    try {
      const [demo] = await connection.api.invoke('clusters.list', {});
      expect(demo.kind).toBe('embedded');
      const states: ClusterState[] = [];
      connection.api.on('cluster.state', (s) => states.push(s));
      await eventually(() => states.some((s) => s.clusterId === demo.id && s.leader !== ''), 'a live state with a leader');
      await expect(connection.api.invoke('clusters.create', { name: '', kind: 'local', size: 3 })).rejects.toMatchObject({
        code: 'invalid-input',
        message: expect.stringMatching(/^clusters\.create: name: /),
      });
    } finally {
      connection.close();
    }
  });
});
