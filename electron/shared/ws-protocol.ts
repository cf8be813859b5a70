// Message framing shared by both transports. IPC and WebSocket carry the same envelopes, so the
// renderer sees identical results and errors whichever one it uses. No runtime imports of zod here:
// the sandboxed preload bundles this file and may only require 'electron'.
import type { ApiErrorShape, ConsoleApi, EventName, Events, Method, Params, Results } from './api.js';

export interface RpcRequest {
  id: number;
  method: string;
  params: unknown;
}

export type RpcResponse = { id: number; result: unknown } | { id: number; error: ApiErrorShape };

export interface RpcEvent {
  event: EventName;
  payload: unknown;
}

export type ServerMessage = RpcResponse | RpcEvent;

/** Web mode: the WebSocket endpoint and the query parameter carrying the session token. */
export const WS_PATH = '/api';
export const TOKEN_PARAM = 'token';
/** Electron IPC channels: one for requests, one for pushed events. */
export const IPC_INVOKE = 'console:invoke';
export const IPC_EVENT = 'console:event';

const errorCodes: ReadonlySet<string> = new Set(['invalid-input', 'not-found', 'conflict', 'unavailable', 'refused', 'internal']);

/** Any thrown value as { code, message }: ApiErrors keep their code, anything else becomes 'internal' with its message only. */
export function toErrorShape(error: unknown): ApiErrorShape {
  if (error && typeof error === 'object') {
    const { code, message } = error as { code?: unknown; message?: unknown };
    const text = typeof message === 'string' && message ? message : 'unexpected error';
    if (typeof code === 'string' && errorCodes.has(code) && (error as Error).name === 'ApiError') {
      return { code: code as ApiErrorShape['code'], message: text };
    }
    return { code: 'internal', message: text };
  }
  return { code: 'internal', message: String(error) };
}

/** The Error a client rejects with: the readable message, plus the code where the transport keeps it. */
export function errorFromShape(shape: ApiErrorShape): Error & { code: ApiErrorShape['code'] } {
  return Object.assign(new Error(shape.message), { name: 'ApiError', code: shape.code });
}

/** Server side: parse one client frame; throws with a readable message when it is not a request. */
export function parseRpcRequest(text: string): RpcRequest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error('request is not valid JSON');
  }
  const frame = value as Partial<RpcRequest> | null;
  if (!frame || typeof frame !== 'object' || !Number.isSafeInteger(frame.id) || typeof frame.method !== 'string') {
    throw new Error('request must be an object {id: integer, method: string, params}');
  }
  return { id: frame.id as number, method: frame.method, params: frame.params };
}

export function isRpcEvent(message: ServerMessage): message is RpcEvent {
  return 'event' in message;
}

/** The minimal WebSocket surface shared by the browser's WebSocket and the ws package. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  addEventListener(type: 'close', listener: () => void): void;
}

/** Client side of web mode: a ConsoleApi over an open WebSocket. Calls fail readably once it closes. */
export function createWsConsoleApi(socket: WebSocketLike): ConsoleApi & { close(): void } {
  let nextId = 1;
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  const listeners = new Map<string, Set<(payload: unknown) => void>>();
  let closed = false;

  socket.addEventListener('message', (event) => {
    const message = JSON.parse(String(event.data)) as ServerMessage;
    if (isRpcEvent(message)) {
      for (const listener of listeners.get(message.event) ?? []) listener(message.payload);
      return;
    }
    const call = pending.get(message.id);
    if (!call) return;
    pending.delete(message.id);
    if ('error' in message) call.reject(errorFromShape(message.error));
    else call.resolve(message.result);
  });
  socket.addEventListener('close', () => {
    closed = true;
    for (const call of pending.values()) call.reject(errorFromShape({ code: 'unavailable', message: 'connection to the console closed' }));
    pending.clear();
  });

  return {
    invoke<M extends Method>(method: M, params: Params<M>): Promise<Results[M]> {
      if (closed) return Promise.reject(errorFromShape({ code: 'unavailable', message: 'connection to the console closed' }));
      const id = nextId++;
      return new Promise<Results[M]>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
        socket.send(JSON.stringify({ id, method, params } satisfies RpcRequest));
      });
    },
    on<E extends EventName>(event: E, listener: (payload: Events[E]) => void): () => void {
      const set = listeners.get(event) ?? new Set();
      listeners.set(event, set);
      const wrapped = listener as (payload: unknown) => void;
      set.add(wrapped);
      return () => set.delete(wrapped);
    },
    close: () => socket.close(),
  };
}
