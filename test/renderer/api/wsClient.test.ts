import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createConnection, webSocketUrl } from '../../../renderer/src/api/client';
import { createWsConnection } from '../../../renderer/src/api/wsClient';
import { FakeApi } from '../fakeApi';

/** A WebSocket stand-in the test drives: it records frames and lets the test open, answer and close it. */
class FakeSocket {
  static readonly OPEN = 1;
  static instances: FakeSocket[] = [];
  readyState = 0;
  sent: unknown[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((e: { data: string }) => void) | null = null;
  onclose: (() => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.instances.push(this);
  }
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close() {
    this.readyState = 3;
    this.onclose?.();
  }
  open() {
    this.readyState = 1;
    this.onopen?.();
  }
  receive(message: unknown) {
    this.onmessage?.({ data: JSON.stringify(message) });
  }
}

const connect = () => createWsConnection({ url: 'ws://127.0.0.1:5000/api?token=t', WebSocketImpl: FakeSocket as unknown as typeof WebSocket, backoffMs: [10] });

describe('web-mode WebSocket client', () => {
  beforeEach(() => {
    FakeSocket.instances = [];
    vi.useFakeTimers();
  });
  afterEach(() => vi.useRealTimers());

  it('queues requests until open, then matches responses by id', async () => {
    const c = connect();
    const list = c.api.invoke('clusters.list', {});
    const state = c.api.invoke('cluster.state', { clusterId: 'demo' });
    const socket = FakeSocket.instances[0];
    expect(socket.sent).toEqual([]);
    socket.open();
    expect(c.status).toBe('open');
    expect(socket.sent).toEqual([
      { id: 1, method: 'clusters.list', params: {} },
      { id: 2, method: 'cluster.state', params: { clusterId: 'demo' } },
    ]);
    socket.receive({ id: 2, result: { clusterId: 'demo' } });
    socket.receive({ id: 1, result: [] });
    expect(await list).toEqual([]);
    expect(await state).toEqual({ clusterId: 'demo' });
  });

  it('rejects with the server’s readable error and code', async () => {
    const c = connect();
    FakeSocket.instances[0].open();
    const call = c.api.invoke('node.kill', { clusterId: 'demo', nodeId: 'n9' });
    FakeSocket.instances[0].receive({ id: 1, error: { code: 'not-found', message: 'node n9 is not in cluster demo' } });
    await expect(call).rejects.toMatchObject({ code: 'not-found', message: 'node n9 is not in cluster demo' });
  });

  it('delivers pushed events to subscribers until they unsubscribe', () => {
    const c = connect();
    FakeSocket.instances[0].open();
    const seen: unknown[] = [];
    const off = c.api.on('activity', (a) => seen.push(a.id));
    FakeSocket.instances[0].receive({ event: 'activity', payload: { id: 7 } });
    off();
    FakeSocket.instances[0].receive({ event: 'activity', payload: { id: 8 } });
    expect(seen).toEqual([7]);
  });

  it('fails requests in flight when the link drops, then reconnects', async () => {
    const c = connect();
    const statuses: string[] = [];
    c.onStatus((s) => statuses.push(s));
    FakeSocket.instances[0].open();
    const call = c.api.invoke('clusters.list', {});
    FakeSocket.instances[0].onclose?.();
    await expect(call).rejects.toMatchObject({ code: 'unavailable', message: 'The connection to the console server was lost.' });
    vi.advanceTimersByTime(10);
    expect(FakeSocket.instances).toHaveLength(2);
    FakeSocket.instances[1].open();
    expect(statuses).toEqual(['open', 'connecting', 'open']);
  });

  it('does not reconnect after close()', () => {
    const c = connect();
    FakeSocket.instances[0].open();
    c.close();
    vi.advanceTimersByTime(1000);
    expect(FakeSocket.instances).toHaveLength(1);
    expect(c.status).toBe('closed');
  });
});

describe('transport choice', () => {
  it('carries the page token into the WebSocket URL', () => {
    expect(webSocketUrl({ protocol: 'http:', host: '127.0.0.1:4100', search: '?token=a%2Bb' })).toBe('ws://127.0.0.1:4100/api?token=a%2Bb');
  });

  it('uses the Electron preload API when present', () => {
    const api = new FakeApi();
    const c = createConnection({ raftConsole: api } as unknown as Window);
    expect(c.transport).toBe('ipc');
    expect(c.api).toBe(api);
  });
});
