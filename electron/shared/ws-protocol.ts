// Message framing shared by both transports. IPC and WebSocket carry the same envelopes, so the
// renderer sees identical results and errors whichever one it uses. No runtime imports of zod here:
// the sandboxed preload bundles this file and may only require 'electron'.
import { MAX_KEY_BYTES, MAX_VALUE_BYTES } from '../../core/kv/limits.js';
import type { ApiErrorShape, EventName } from './api.js';

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

/** Electron IPC answers the same way, without an id (ipcRenderer.invoke pairs calls itself). */
export type IpcResponse = { result: unknown } | { error: ApiErrorShape };

/** JSON writes one byte of a string as at most six (a control character becomes \u0001). */
const JSON_BYTES_PER_STRING_BYTE = 6;
/** The request's id, method name, field names and the other small fields around the strings. */
const ENVELOPE_HEADROOM_BYTES = 64 * 1024;
/**
 * The largest request frame a client may send: the largest KV request (kv.cas carries a key and two
 * values) with every string byte escaped, plus the envelope. A larger frame closes the connection, so
 * any request the API's own limits accept must fit: the API then answers it, with a plain error if needed.
 */
export const MAX_REQUEST_FRAME_BYTES = JSON_BYTES_PER_STRING_BYTE * (MAX_KEY_BYTES + 2 * MAX_VALUE_BYTES) + ENVELOPE_HEADROOM_BYTES;

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
