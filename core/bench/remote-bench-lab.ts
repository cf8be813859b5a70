// The measuring half of `npm run bench:remote` (see remote-bench.ts), run inside the lab's rc-op
// namespace as an esbuild bundle: ssh2 is CommonJS, and Node's ES module loader (tsx) cannot import
// its `utils` by name, where a bundle can.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClusterState } from '../../electron/shared/api.js';
import { ConsoleService, type ConsoleSession } from '../../electron/services/console-service.js';
import { Deployer } from '../../electron/services/remote/deploy.js';
import { HostConnections } from '../../electron/services/remote/host-connections.js';
import type { HostProfile } from '../../electron/services/remote/host-profile.js';
import { KnownHosts } from '../../electron/services/remote/known-hosts.js';
import { RemoteHosts } from '../../electron/services/remote/remote-host.js';
import { requireLab, type Lab } from '../../test/remote/lab.js';

interface Side {
  connections: HostConnections;
  remote: RemoteHosts;
  service: ConsoleService;
  session: ConsoleSession;
}

async function openSide(lab: Lab, dataDir: string, knownHosts: KnownHosts): Promise<Side> {
  const profiles = new Map<string, HostProfile>(
    lab.hosts.map((h) => [h.name, { id: h.name, name: h.name, address: h.address, port: h.port, user: h.user, auth: { kind: 'key', keyFile: lab.clientKey }, jumpHostId: null, groups: [], createdAt: 0, updatedAt: 0 }]),
  );
  const connections = new HostConnections({ directory: { resolve: async (id) => ({ profile: profiles.get(id) as HostProfile }) }, knownHosts });
  const remote = new RemoteHosts({ shell: (id) => connections.shell(id), address: (id) => (profiles.get(id) as HostProfile).address });
  const service = await ConsoleService.open({ dataDir, demoOnFirstRun: false, remote: { hosts: remote } });
  const session = service.openSession(() => undefined);
  return { connections, remote, service, session };
}

async function closeSide(side: Side): Promise<void> {
  side.session.close();
  await side.service.close();
  await side.connections.closeAll();
}

/** clusters.create (deploy, ports), clusters.start (every node answering), then a leader: ms of each from create. */
async function createToLeader(side: Side, name: string, hosts: string[]): Promise<{ ms: number; created: number; started: number; id: string }> {
  const t0 = performance.now();
  const { id } = (await side.session.invoke('clusters.create', { name, kind: 'remote', size: 3, hosts })) as { id: string };
  const created = performance.now() - t0;
  await side.session.invoke('clusters.start', { clusterId: id });
  const started = performance.now() - t0;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const state = (await side.session.invoke('cluster.state', { clusterId: id })) as ClusterState;
    if (state.leader) return { ms: performance.now() - t0, created, started, id };
    if (Date.now() > deadline) throw new Error(`${name}: no leader within 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const phases = (r: { ms: number; created: number; started: number }) =>
  `${r.ms.toFixed(0)} ms (created at ${r.created.toFixed(0)}, all nodes answering at ${r.started.toFixed(0)})`;

async function uploadedBy(side: Side, hosts: string[]): Promise<number> {
  let bytes = 0;
  for (const host of hosts) bytes += (await side.remote.get(host).knownDeployment())?.uploadedBytes ?? 0;
  return bytes;
}

const mib = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`;

/** Inside rc-op, against the lab. */
export async function measure(): Promise<void> {
  const lab = requireLab();
  const dir = await mkdtemp(join(tmpdir(), 'rc-bench-remote-'));
  await writeFile(join(dir, 'user_known_hosts'), '');
  const knownHosts = new KnownHosts({ consoleFile: join(dir, 'known_hosts'), readOnlyFiles: [join(dir, 'user_known_hosts')] });
  for (const host of lab.hosts) {
    const [keyType, key] = host.hostKeyPublic.split(' ');
    await knownHosts.accept({ host: host.address, port: host.port, keyType, key, fingerprint: host.hostKeyFingerprint });
  }
  const three = lab.hosts.filter((h) => h.hasNode).slice(0, 3).map((h) => h.name);
  const bare = lab.hosts.find((h) => !h.hasNode);
  const rows: Array<[string, string]> = [];
  try {
    let side = await openSide(lab, join(dir, 'console'), knownHosts);
    const first = await createToLeader(side, 'bench-1', three);
    rows.push(['create → leader, 3 nodes on 3 hosts, first deploy', phases(first)]);
    rows.push(['  bytes uploaded (bundle to each host)', `${await uploadedBy(side, three)} B`]);

    // A console restart: nothing remembered in memory, everything found on the hosts.
    await closeSide(side);
    side = await openSide(lab, join(dir, 'console'), knownHosts);
    const second = await createToLeader(side, 'bench-2', three);
    rows.push(['create → leader, 3 nodes on 3 hosts, second deploy', phases(second)]);
    rows.push(['  bytes uploaded', `${await uploadedBy(side, three)} B`]);
    const t = performance.now();
    const again = await new Deployer().deploy(side.connections.shell(three[0]));
    rows.push(['a deploy that finds everything in place (one host)', `${(performance.now() - t).toFixed(0)} ms, ${again.uploadedBytes} B`]);

    if (bare) {
      const t0 = performance.now();
      const runtime = await new Deployer().deploy(side.connections.shell(bare.name), { uploadRuntime: true });
      rows.push([`first deploy to ${bare.name} (no Node): bundle + runtime`, `${(performance.now() - t0).toFixed(0)} ms, ${mib(runtime.uploadedBytes)}`]);
    }

    const third = await createToLeader(side, 'bench-3', three);
    rows.push(['create → leader, third cluster', phases(third)]);
    // Let the three feeds run a while (polls, event streams, tunnels) before looking at memory.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    global.gc?.();
    const memory = process.memoryUsage();
    rows.push(['console memory, 3 remote clusters open: RSS', mib(memory.rss)]);
    rows.push(['  heap used', mib(memory.heapUsed)]);

    for (const id of [first.id, second.id, third.id]) await side.session.invoke('clusters.delete', { clusterId: id });
    await closeSide(side);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const width = Math.max(...rows.map(([label]) => label.length));
  console.log('\nbench:remote (lab hosts over real sshd)');
  for (const [label, value] of rows) console.log(`  ${label.padEnd(width)}  ${value}`);
}

