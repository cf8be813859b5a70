// The real HostsService behind a FakeApi: hosts.* requests are validated by the API's own schemas and
// answered by the service (profiles in a temp dir, secrets in memory, known hosts in that dir only).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostsRequestSchemas } from '../../electron/services/remote/host-profile';
import { HostsService, hostsMethods } from '../../electron/services/remote/hosts-service';
import { MemorySecretStore } from '../../electron/services/remote/secret-store';
import type { Method } from '../../electron/shared/api';
import type { FakeApi } from './fakeApi';

export interface RealHosts {
  service: HostsService;
  dir: string;
  close(): Promise<void>;
}

export async function withRealHosts(api: FakeApi): Promise<RealHosts> {
  const dir = await mkdtemp(join(tmpdir(), 'rc-hosts-ui-'));
  const service = await HostsService.open({
    dir: join(dir, 'remote'),
    secrets: new MemorySecretStore(),
    userKnownHosts: [],
    connections: { tcpTimeoutMs: 5000, handshakeTimeoutMs: 5000, reconnectInitialMs: 60_000, reconnectMaxMs: 60_000 },
  });
  const methods = hostsMethods(service) as Record<string, (p: unknown) => Promise<unknown>>;
  for (const [method, schema] of Object.entries(hostsRequestSchemas)) {
    api.handle(method as Method, ((params: unknown) => methods[method](schema.parse(params))) as never);
  }
  // The console service pushes each state change to every session as a hosts.state event.
  const stopEvents = service.onState((view) => api.emit('hosts.state', view));
  return {
    service,
    dir,
    close: async () => {
      stopEvents();
      await service.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
