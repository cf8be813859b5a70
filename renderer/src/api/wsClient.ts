// ConsoleApi over the web-mode WebSocket: {id, method, params} → {id, result} | {id, error}; {event, payload} pushes.
import { ApiError, type ApiErrorShape, type ConsoleApi, type EventName, type Events, type Method, type Params, type Results } from '../../../electron/shared/api';
import type { Connection, ConnectionStatus } from './connection';

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Incoming =
  | { id: number; result?: unknown; error?: ApiErrorShape }
  | { event: EventName; payload: unknown };

export interface WsClientOptions {
  url: string;
  /** Injected in tests; the browser's WebSocket otherwise. */
  WebSocketImpl?: typeof WebSocket;
  /** Delays between reconnect attempts; the last one repeats. */
  backoffMs?: readonly number[];
}

export function createWsConnection(options: WsClientOptions): Connection {
  const Impl = options.WebSocketImpl ?? WebSocket;
  const backoff = options.backoffMs ?? [250, 500, 1000, 2000, 5000];
  const pending = new Map<number, Pending>();
  const listeners = new Map<EventName, Set<(payload: never) => void>>();
  const statusListeners = new Set<(status: ConnectionStatus) => void>();
  let queue: string[] = [];
  let nextId = 1;
  let attempt = 0;
  let closedByUser = false;
  let socket: WebSocket;
  let status: ConnectionStatus = 'connecting';

  const setStatus = (next: ConnectionStatus) => {
    status = next;
    for (const l of statusListeners) l(next);
  };

  const open = () => {
    socket = new Impl(options.url);
    socket.onopen = () => {
      attempt = 0;
      const waiting = queue;
      queue = [];
      for (const frame of waiting) socket.send(frame);
      setStatus('open');
    };
    socket.onmessage = (event: MessageEvent) => receive(String(event.data));
    socket.onclose = () => {
      // Requests in flight may or may not have run; the caller decides whether to retry.
      for (const [, p] of pending) p.reject(new ApiError('unavailable', 'The connection to the console server was lost.'));
      pending.clear();
      if (closedByUser) return setStatus('closed');
      setStatus('connecting');
      const delay = backoff[Math.min(attempt++, backoff.length - 1)];
      setTimeout(open, delay);
    };
  };

  const receive = (text: string) => {
    let message: Incoming;
    try {
      message = JSON.parse(text) as Incoming;
    } catch {
      return;
    }
    if ('event' in message) {
      for (const l of listeners.get(message.event) ?? []) (l as (p: unknown) => void)(message.payload);
      return;
    }
    const p = pending.get(message.id);
    if (!p) return;
    pending.delete(message.id);
    if (message.error) p.reject(new ApiError(message.error.code, message.error.message));
    else p.resolve(message.result);
  };

  const api: ConsoleApi = {
    invoke<M extends Method>(method: M, params: Params<M>): Promise<Results[M]> {
      if (closedByUser) return Promise.reject(new ApiError('unavailable', 'The console connection is closed.'));
      const id = nextId++;
      const frame = JSON.stringify({ id, method, params });
      return new Promise<Results[M]>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        if (status === 'open' && socket.readyState === Impl.OPEN) socket.send(frame);
        else queue.push(frame);
      });
    },
    on<E extends EventName>(event: E, listener: (payload: Events[E]) => void): () => void {
      const set = listeners.get(event) ?? new Set();
      set.add(listener as (payload: never) => void);
      listeners.set(event, set);
      return () => set.delete(listener as (payload: never) => void);
    },
  };

  open();
  return {
    api,
    transport: 'websocket',
    get status() {
      return status;
    },
    onStatus(listener) {
      statusListeners.add(listener);
      return () => statusListeners.delete(listener);
    },
    close() {
      closedByUser = true;
      socket.close();
    },
  };
}
