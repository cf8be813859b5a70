// `npm run web`: the console in a browser, without Electron. Serves the built renderer and the API
// on 127.0.0.1 and prints the URL to open (it carries the session token).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConsoleService } from '../services/console-service.js';
import { HostsService } from '../services/remote/hosts-service.js';
import { RemoteHosts } from '../services/remote/remote-host.js';
import { MemorySecretStore } from '../services/remote/secret-store.js';
import { projectRoot, resolveDataDir } from '../services/paths.js';
import { toErrorShape } from '../shared/ws-protocol.js';
import { startWebServer } from './server.js';

export async function runWebMode(): Promise<void> {
  const staticDir = join(projectRoot(), 'out/renderer');
  if (!existsSync(join(staticDir, 'index.html'))) {
    console.error('raft-console: the renderer is not built (out/renderer); run `npm run build` first, or use `npm run web`.');
    process.exit(1);
  }
  let service: ConsoleService;
  let hosts: HostsService;
  try {
    const dataDir = resolveDataDir();
    // Web mode never writes secrets to disk: the store says so, and the Hosts view shows its words.
    hosts = await HostsService.open({ dir: join(dataDir, 'remote'), secrets: new MemorySecretStore() });
    service = await ConsoleService.open({ dataDir, hosts, remote: { hosts: new RemoteHosts(hosts) } });
  } catch (error) {
    console.error(`raft-console: ${toErrorShape(error).message}`);
    process.exit(1);
  }
  const port = Number(process.env.RAFT_CONSOLE_PORT ?? 0);
  const server = await startWebServer({ service, staticDir, port });
  console.log(`Raft Console (web mode) is running: open ${server.url}`);
  console.log(`Data: ${service.dataDir}. Press Ctrl+C to stop the console; local nodes keep running.`);

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void server
      .close()
      .then(() => service.close())
      .then(() => hosts.close())
      .finally(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

await runWebMode();
