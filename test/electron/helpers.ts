// Shared by the console tests: throwaway data dirs and a WebSocket client of the console API.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import type { ConsoleApi, EventName, Events, Method, OperationProgress, Params, Results } from '../../electron/shared/api.js';
import { errorFromShape, isRpcEvent, type ServerMessage } from '../../electron/shared/ws-protocol.js';

export async function tempDir(prefix = 'raft-console-'): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** A bare client of the web-mode protocol, to test the server on its own terms. */
export async function connectApi(url: string): Promise<ConsoleApi & { close(): void }> {
  const socket = await openSocket(url);
  let nextId = 1;
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  const listeners = new Map<string, Set<(payload: unknown) => void>>();
  socket.on('message', (data) => {
    const message = JSON.parse(String(data)) as ServerMessage;
    if (isRpcEvent(message)) return listeners.get(message.event)?.forEach((l) => l(message.payload));
    const call = pending.get(message.id);
    pending.delete(message.id);
    if ('error' in message) call?.reject(errorFromShape(message.error));
    else call?.resolve(message.result);
  });
  return {
    invoke<M extends Method>(method: M, params: Params<M>): Promise<Results[M]> {
      const id = nextId++;
      return new Promise<Results[M]>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
        socket.send(JSON.stringify({ id, method, params }));
      });
    },
    on<E extends EventName>(event: E, listener: (payload: Events[E]) => void): () => void {
      const set = listeners.get(event) ?? new Set();
      listeners.set(event, set);
      set.add(listener as (payload: unknown) => void);
      return () => set.delete(listener as (payload: unknown) => void);
    },
    close: () => socket.close(),
  };
}

export function openSocket(url: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    socket.once('open', () => resolve(socket));
    socket.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    socket.once('error', reject);
  });
}

/** Polls until `check` returns a value (not undefined/false), failing after `timeoutMs`. */
export async function eventually<T>(check: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Waits until a guided operation is done; returns every progress event it published, in order. */
export function operationFinished(events: ReadonlyArray<{ event: string; payload: unknown }>, operationId: string, what: string, timeoutMs: number): Promise<OperationProgress[]> {
  return eventually(() => {
    const progress = events.filter((e) => e.event === 'operation.progress').map((e) => e.payload as OperationProgress).filter((p) => p.operationId === operationId);
    return progress.at(-1)?.done ? progress : undefined;
  }, what, timeoutMs);
}
