// The real HostsService behind a FakeApi: hosts.* requests are validated by the API's own schemas and
// answered by the service (profiles in a temp dir, secrets in memory, known hosts in that dir only).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
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
  /** The home ~ stands for in the ssh config. */
  home: string;
  close(): Promise<void>;
}

/** `sshConfig`: the text of the ~/.ssh/config the service reads, kept in the temp dir's own home (never the real one). */
export async function withRealHosts(api: FakeApi, options: { sshConfig?: string } = {}): Promise<RealHosts> {
  const dir = await mkdtemp(join(tmpdir(), 'rc-hosts-ui-'));
  const home = join(dir, 'home');
  await mkdir(join(home, '.ssh'), { recursive: true });
  if (options.sshConfig !== undefined) await writeFile(join(home, '.ssh', 'config'), options.sshConfig);
  const service = await HostsService.open({
    dir: join(dir, 'remote'),
    secrets: new MemorySecretStore(),
    userKnownHosts: [],
    sshConfig: { file: join(home, '.ssh', 'config'), home, localUser: 'tester' },
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
    home,
    close: async () => {
      stopEvents();
      await service.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
