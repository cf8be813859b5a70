// The renderer's only door to the main process: the typed console API, nothing else. ipcRenderer
// itself is never exposed; sandboxed, this script can only require 'electron'.
import { contextBridge, ipcRenderer } from 'electron';
import type { ConsoleApi, EventName, Events, Method, Params, Results } from '../shared/api.js';
import { errorFromShape, IPC_EVENT, IPC_INVOKE, type IpcResponse } from '../shared/ws-protocol.js';

const listeners = new Map<string, Set<(payload: unknown) => void>>();

ipcRenderer.on(IPC_EVENT, (_event, name: string, payload: unknown) => {
  for (const listener of listeners.get(name) ?? []) listener(payload);
});

const api: ConsoleApi = {
  async invoke<M extends Method>(method: M, params: Params<M>): Promise<Results[M]> {
    const response = (await ipcRenderer.invoke(IPC_INVOKE, method, params)) as IpcResponse;
    if ('error' in response) throw errorFromShape(response.error);
    return response.result as Results[M];
  },
  on<E extends EventName>(event: E, listener: (payload: Events[E]) => void): () => void {
    const set = listeners.get(event) ?? new Set();
    listeners.set(event, set);
    const wrapped = (payload: unknown) => listener(payload as Events[E]);
    set.add(wrapped);
    return () => set.delete(wrapped);
  },
};

contextBridge.exposeInMainWorld('raftConsole', api);
