import type { ConsoleApi } from '../../../electron/shared/api';

export type ConnectionStatus = 'connecting' | 'open' | 'closed';

/** A ConsoleApi plus whether it can currently reach the backend. */
export interface Connection {
  api: ConsoleApi;
  transport: 'ipc' | 'websocket' | 'test';
  readonly status: ConnectionStatus;
  onStatus(listener: (status: ConnectionStatus) => void): () => void;
  close(): void;
}
