// The WebSocket's frame limit follows from the KV limits (one rule, in ws-protocol.ts): any request the
// API's own limits accept reaches the API and gets an answer; only a frame past every limit is cut.
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_KEY_BYTES, MAX_VALUE_BYTES } from '../../../core/kv/limits.js';
import { ConsoleService } from '../../../electron/services/console-service.js';
import { MAX_REQUEST_FRAME_BYTES, TOKEN_PARAM, WS_PATH } from '../../../electron/shared/ws-protocol.js';
import { startWebServer, type WebServer } from '../../../electron/web/server.js';
import { openSocket, tempDir } from '../helpers.js';

/** A string of `bytes` UTF-8 bytes that JSON escapes the most (each one becomes \u0001). */
const worstString = (bytes: number) => '\u0001'.repeat(bytes);

describe('request frame limit', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let service: ConsoleService;
  let server: WebServer;

  beforeEach(async () => {
    dir = await tempDir();
    service = await ConsoleService.open({ dataDir: join(dir.path, 'data'), demoOnFirstRun: false });
    server = await startWebServer({ service });
  });

  afterEach(async () => {
    await server.close();
    await service.close();
    await dir.remove();
  });

  /** Sends one frame; resolves with the server's answer, or 'closed' when it cut the connection. */
  async function send(frame: string): Promise<string> {
    const socket = await openSocket(`ws://127.0.0.1:${server.port}${WS_PATH}?${TOKEN_PARAM}=${server.token}`);
    return new Promise((resolve) => {
      socket.once('message', (data) => {
        resolve(String(data));
        socket.close();
      });
      socket.once('close', () => resolve('closed'));
      socket.send(frame);
    });
  }

  it('fits the largest KV request (kv.cas: a key and two values) however JSON escapes it', () => {
    const frame = JSON.stringify({ id: Number.MAX_SAFE_INTEGER, method: 'kv.cas', params: { clusterId: 'c'.repeat(64), key: worstString(MAX_KEY_BYTES), from: worstString(MAX_VALUE_BYTES), to: worstString(MAX_VALUE_BYTES) } });
    expect(Buffer.byteLength(frame)).toBeLessThanOrEqual(MAX_REQUEST_FRAME_BYTES);
  });

  it('answers a kv.put whose value is at the limit and escapes to more than 2 MiB (the old fixed cap)', async () => {
    const frame = JSON.stringify({ id: 1, method: 'kv.put', params: { clusterId: 'nowhere', key: 'k', value: worstString(MAX_VALUE_BYTES) } });
    expect(Buffer.byteLength(frame)).toBeGreaterThan(2 * 1024 * 1024);
    const answer = JSON.parse(await send(frame));
    // It reached the service: refused for the cluster, not for its size.
    expect(answer).toMatchObject({ id: 1, error: { code: 'not-found' } });
  });

  it('answers a value one byte over the limit with the plain reason', async () => {
    const answer = JSON.parse(await send(JSON.stringify({ id: 2, method: 'kv.put', params: { clusterId: 'nowhere', key: 'k', value: 'x'.repeat(MAX_VALUE_BYTES + 1) } })));
    expect(answer).toMatchObject({ id: 2, error: { code: 'invalid-input' } });
    expect(answer.error.message).toMatch(/at most/);
  });

  it('cuts a frame past every limit', async () => {
    expect(await send('x'.repeat(MAX_REQUEST_FRAME_BYTES + 1))).toBe('closed');
  });
});
