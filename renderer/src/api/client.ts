// Picks the transport: the Electron preload's window.raftConsole when present, else web mode's WebSocket.
import type { ConsoleApi } from '../../../electron/shared/api';
import { TOKEN_PARAM, WS_PATH } from '../../../electron/shared/ws-protocol';
import type { Connection } from './connection';
import { createWsConnection } from './wsClient';

declare global {
  interface Window {
    raftConsole?: ConsoleApi;
  }
}

export function webSocketUrl(location: Pick<Location, 'protocol' | 'host' | 'search'>): string {
  // The upgrade must carry the page's session token.
  const token = new URLSearchParams(location.search).get(TOKEN_PARAM) ?? '';
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}${WS_PATH}?${TOKEN_PARAM}=${encodeURIComponent(token)}`;
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
