// Picks the transport: the Electron preload's window.raftConsole when present, else web mode's WebSocket.
import type { ConsoleApi } from '../../../electron/shared/api';
import type { Connection } from './connection';
import { createWsConnection } from './wsClient';

declare global {
  interface Window {
    raftConsole?: ConsoleApi;
  }
}

/** The WebSocket endpoint of web mode; the upgrade must carry the page's session token. */
export const WS_PATH = '/api';

export function webSocketUrl(location: Pick<Location, 'protocol' | 'host' | 'search'>): string {
  const token = new URLSearchParams(location.search).get('token') ?? '';
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}${WS_PATH}?token=${encodeURIComponent(token)}`;
}

export function ipcConnection(api: ConsoleApi): Connection {
  return {
    api,
    transport: 'ipc',
    status: 'open',
    onStatus: () => () => undefined,
    close: () => undefined,
  };
}

export function createConnection(win: Window = window): Connection {
  if (win.raftConsole) return ipcConnection(win.raftConsole);
  return createWsConnection({ url: webSocketUrl(win.location) });
}
