// @vitest-environment happy-dom
// Creating a remote cluster from the Clusters view: hosts and nodes per host, the backend's plan
// (remote.clusterPlan), then its deploy (remote.createCluster) with progress per node and cancel; and
// where each node runs.
import { mount } from '@vue/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClusterSummary, NodeDeployProgress, OperationProgress, Params, RemoteClusterPlan, RemoteDeployPlan } from '../../../electron/shared/api';
import { formatBytes } from '../../../renderer/src/logic/hosts';
import { useClusterWizardStore } from '../../../renderer/src/stores/clusterWizard';
import { useNavigationStore } from '../../../renderer/src/stores/navigation';
import ClustersView from '../../../renderer/src/views/ClustersView.vue';
import DashboardView from '../../../renderer/src/views/DashboardView.vue';
import { apiWithCluster, flush, makeCluster, makeNode, makeState, setupStores, type FakeApi } from '../fakeApi';
import { withRealHosts } from '../hostsApi';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  document.body.innerHTML = '';
});

const byTestId = (id: string) => document.querySelector<HTMLElement>(`[data-testid="${id}"]`);

/** Two host profiles in a real HostsService; `clusters` lists the clusters on them (by profile id). */
async function setup(api: FakeApi, clusters?: (alpha: string, beta: string) => ClusterSummary[]) {
  const hosts = await withRealHosts(api);
  cleanups.push(hosts.close);
  const alpha = await hosts.service.create({ name: 'alpha', address: '198.51.100.11', port: 22, user: 'ops', auth: { kind: 'agent' }, jumpHostId: null, groups: [] });
  const beta = await hosts.service.create({ name: 'beta', address: '198.51.100.12', port: 2222, user: 'ops', auth: { kind: 'agent' }, jumpHostId: null, groups: [] });
  if (clusters) api.handle('clusters.list', () => clusters(alpha.id, beta.id));
  const pinia = setupStores(api);
  useNavigationStore().go('clusters');
  const w = mount(ClustersView, { global: { plugins: [pinia] }, attachTo: document.body });
  cleanups.push(() => w.unmount());
  await flush(10);
  return { alpha, beta };
}

async function setNumber(testId: string, value: number) {
  const input = document.querySelector<HTMLInputElement>(`[data-testid="${testId}"] input`)!;
  input.value = String(value);
  input.dispatchEvent(new Event('input'));
  input.dispatchEvent(new Event('blur'));
  await flush();
}

const hostNodePlan = (host: string): RemoteDeployPlan => ({
  host,
  os: 'Linux',
  arch: 'x86_64',
  hostNode: 'v20.11.1',
  runtime: 'host',
  runtimeVersion: 'v20.11.1',
  bundleBytes: 1_800_000,
  bundlePresent: false,
  uploadBytes: 1_800_000,
});

/** The backend's plan for the request, as remote.clusterPlan makes it: beta has no Node unless the runtime is opted in. */
function backendPlan(p: Params<'remote.clusterPlan'>, betaId: string): RemoteClusterPlan {
  const betaPlan = p.uploadRuntime ? { ...hostNodePlan(betaId), hostNode: null, runtime: 'uploaded' as const, runtimeBytes: 95_000_000, runtimePresent: false, uploadBytes: 96_800_000 } : undefined;
  const hosts = [...new Set(p.hosts)].map((host) =>
    host === betaId ? (betaPlan ? { host, home: '/home/ops', deploy: betaPlan } : { host, error: `${host}: no Node >= 20; upload the console’s runtime (95 MB) or install Node 20` }) : { host, home: '/home/ops', deploy: hostNodePlan(host) },
  );
  const nodes = p.hosts.map((host, i) => {
    const nodeId = p.nodeNames?.[i] ?? `n${i + 1}`;
    const planned = hosts.find((h) => h.host === host)?.deploy;
    const dir = `/home/ops/.raft-console/clusters/cluster-2/nodes/${nodeId}`;
    return planned ? { nodeId, host, peer: `198.51.100.1${i}:2100${i}`, client: `127.0.0.1:2200${i}`, dataDir: `${dir}/data`, logFile: `${dir}/logs/raftd.log` } : { nodeId, host };
  });
  return { planId: `plan-${p.uploadRuntime}`, clusterId: 'cluster-2', name: p.name, hosts, nodes, uploadBytes: hosts.reduce((sum, h) => sum + (h.deploy?.uploadBytes ?? 0), 0), problems: hosts.flatMap((h) => (h.error ? [h.error] : [])) };
}

const progressEvent = (nodes: NodeDeployProgress[], extra: Partial<OperationProgress> = {}): OperationProgress => ({
  operationId: 'op-1',
  clusterId: 'cluster-2',
  title: 'Create remote cluster “cluster-2”',
  step: 'deploying',
  fraction: 0.3,
  done: false,
  cancellable: true,
  nodes,
  ...extra,
});

/** Through the wizard to its plan: two nodes on alpha, one on beta. */
async function toPlan(alpha: string, beta: string) {
  byTestId('create-cluster')!.click();
  await flush();
  byTestId('wizard-kind-remote')!.querySelector('input')!.click();
  await flush();
  byTestId('wizard-next')!.click();
  await flush();
  expect(byTestId('wizard-problems')?.textContent).toContain('Choose how many nodes run on at least one host.');
  await setNumber(`remote-host-count-${alpha}`, 2);
  await setNumber(`remote-host-count-${beta}`, 1);
  expect(byTestId('wizard-problems')).toBeNull();
  expect(byTestId('wizard-size-advice')?.textContent).toContain('majority 2 of 3');
  byTestId('wizard-next')!.click();
  await flush(10);
}

describe('remote cluster wizard', () => {
  it("shows the backend's plan (addresses, ports, data and log paths per node, what each host's deploy sends or why it cannot), then deploys it", async () => {
    let betaId = '';
    const api = apiWithCluster()
      .handle('remote.clusterPlan', (p) => backendPlan(p, betaId))
      .handle('remote.createCluster', () => ({ operationId: 'op-1', clusterId: 'cluster-2' }))
      .handle('operation.cancel', () => ({ cancelled: true }));
    const { alpha, beta } = await setup(api);
    betaId = beta.id;
    await toPlan(alpha.id, beta.id);

    expect(api.callsOf('remote.clusterPlan')).toEqual([{ name: 'cluster-2', hosts: [alpha.id, alpha.id, beta.id], nodeNames: ['n1', 'n2', 'n3'], uploadRuntime: false }]);
    expect(byTestId(`remote-plan-${alpha.id}`)?.textContent).toContain('198.51.100.11');
    expect(byTestId('remote-plan-peer-n2')?.textContent).toBe('198.51.100.11:21001');
    expect(byTestId('remote-plan-client-n2')?.textContent).toBe('127.0.0.1:22001');
    expect(byTestId('remote-plan-data-n1')?.textContent).toBe('/home/ops/.raft-console/clusters/cluster-2/nodes/n1/data');
    expect(byTestId('remote-plan-log-n1')?.textContent).toBe('/home/ops/.raft-console/clusters/cluster-2/nodes/n1/logs/raftd.log');
    expect(byTestId(`remote-plan-upload-${alpha.id}`)?.textContent).toContain(`raftd uploads ${formatBytes(1_800_000)}`);
    expect(byTestId(`remote-plan-error-${beta.id}`)?.textContent).toContain('no Node >= 20');
    expect(byTestId('remote-plan-node-n3')?.textContent).toContain('not planned');
    expect(byTestId('wizard-create')?.hasAttribute('disabled')).toBe(true);

    byTestId('remote-upload-runtime')!.click();
    await flush(10);
    expect(api.callsOf('remote.clusterPlan').at(-1)).toMatchObject({ uploadRuntime: true });
    expect(byTestId(`remote-plan-upload-${beta.id}`)?.textContent).toContain(`uploads ${formatBytes(95_000_000)}`);
    expect(byTestId('remote-plan-total')?.textContent).toContain(formatBytes(1_800_000 + 96_800_000));
    byTestId('wizard-create')!.click();
    await flush(10);
    expect(api.callsOf('remote.createCluster')).toEqual([{ planId: 'plan-true' }]);
    expect(api.callsOf('clusters.create')).toEqual([]);

    // Progress per node: beta uploads the runtime with a byte bar; a failure shows on the node where it happened.
    api.emit(
      'operation.progress',
      progressEvent([
        { nodeId: 'n1', host: alpha.id, stage: 'start', state: 'running' },
        { nodeId: 'n2', host: alpha.id, stage: 'start', state: 'failed', error: 'alpha: node n2 cannot start: port 21001 is in use' },
        { nodeId: 'n3', host: beta.id, stage: 'upload', state: 'running', upload: { what: 'Node v20.11.1', sent: 47_500_000, total: 95_000_000 } },
      ]),
    );
    await flush();
    expect(byTestId('remote-deploy-node-n1')?.dataset.stage).toBe('start');
    expect(byTestId('remote-deploy-node-n1')?.textContent).toContain('alpha');
    // The cluster being created is listed meanwhile: not a name clash.
    api.emit('clusters.changed', [makeCluster({ id: 'cluster-2', name: 'cluster-2', kind: 'remote' })]);
    await flush();
    expect(byTestId('wizard-problems')).toBeNull();
    expect(byTestId('remote-deploy-stage-n1-upload')?.dataset.state).toBe('done');
    expect(byTestId('remote-deploy-stage-n1-start')?.dataset.state).toBe('running');
    expect(byTestId('remote-deploy-stage-n1-leader')?.dataset.state).toBe('waiting');
    expect(byTestId('remote-deploy-upload-n3')?.textContent).toContain(`Node v20.11.1: ${formatBytes(47_500_000)} of ${formatBytes(95_000_000)}`);
    expect(byTestId('remote-deploy-upload-n3')?.querySelector('[role="progressbar"]')?.getAttribute('aria-valuenow')).toBe('50');
    expect(byTestId('remote-deploy-error-n2')?.textContent).toBe('alpha: node n2 cannot start: port 21001 is in use');
    expect(byTestId('remote-deploy-error-n1')).toBeNull();

    byTestId('remote-deploy-cancel')!.click();
    await flush(10);
    expect(api.callsOf('operation.cancel')).toEqual([{ operationId: 'op-1' }]);
    expect(byTestId('remote-deploy-cancel')?.textContent).toContain('Cancelling');
    api.emit(
      'operation.progress',
      progressEvent([{ nodeId: 'n1', host: alpha.id, stage: 'start', state: 'cancelled' }], { done: true, cancelled: true, error: 'cancelled: the cluster was removed again' }),
    );
    await flush();
    expect(byTestId('remote-deploy-outcome')?.textContent).toBe('cancelled: the cluster was removed again');
    expect(byTestId('wizard-create')?.hasAttribute('disabled')).toBe(true);
    byTestId('remote-deploy-plan-again')!.click();
    await flush(10);
    expect(api.callsOf('remote.clusterPlan')).toHaveLength(3);
    expect(byTestId('remote-plan-peer-n1')).not.toBeNull();
  });

  it('a deploy that completes closes the wizard and opens the new cluster', async () => {
    const api = apiWithCluster()
      .handle('remote.clusterPlan', (p) => backendPlan({ ...p, uploadRuntime: true }, ''))
      .handle('remote.createCluster', () => ({ operationId: 'op-1', clusterId: 'cluster-2' }));
    const { alpha, beta } = await setup(api);
    await toPlan(alpha.id, beta.id);
    byTestId('wizard-create')!.click();
    await flush(10);
    expect(byTestId('remote-deploy-progress')).not.toBeNull();
    const nodes = ['n1', 'n2', 'n3'].map((nodeId): NodeDeployProgress => ({ nodeId, host: alpha.id, stage: 'leader', state: 'done' }));
    api.emit('operation.progress', progressEvent(nodes, { done: true, step: 'done', fraction: 1 }));
    await flush(10);
    expect(useNavigationStore().view).toBe('dashboard');
    expect(useNavigationStore().clusterId).toBe('cluster-2');
    expect(useClusterWizardStore().open).toBe(false);
  });

  it('shows where each node runs, with a raftctl command that reaches its loopback client port through SSH with the cluster token and TLS files', async () => {
    await setup(apiWithCluster(), (alpha, beta) => [
      makeCluster({
        id: 'r1',
        name: 'remote',
        kind: 'remote',
        tls: true,
        access: { tokenFile: '/c/pki/r1/token', tlsCert: '/c/pki/r1/console.crt', tlsKey: '/c/pki/r1/console.key', tlsCa: '/c/pki/r1/ca.crt' },
        nodes: [
          { id: 'n1', kind: 'remote', host: alpha, peer: '198.51.100.11:7101', client: '127.0.0.1:8101' },
          { id: 'n2', kind: 'remote', host: beta, peer: '198.51.100.12:7102', client: '127.0.0.1:8102' },
        ],
      }),
      makeCluster({ id: 'l1', name: 'local', kind: 'local', nodes: [{ id: 'n9', kind: 'local', peer: '127.0.0.1:7009', client: '127.0.0.1:8009' }] }),
    ]);
    const location = byTestId('node-location-n2');
    expect(location?.textContent).toContain('beta');
    expect(location?.textContent).toContain('198.51.100.12:7102');
    expect(byTestId('node-raftctl-n2')?.textContent).toBe(
      'ssh -f -o ExitOnForwardFailure=yes -L 8102:127.0.0.1:8102 ops@198.51.100.12 -p 2222 sleep 10 && npx raftctl --endpoints 127.0.0.1:8102 --token-file /c/pki/r1/token --tls-cert /c/pki/r1/console.crt --tls-key /c/pki/r1/console.key --tls-ca /c/pki/r1/ca.crt status',
    );
    expect(byTestId('node-raftctl-n9')?.textContent).toBe('npx raftctl --endpoints 127.0.0.1:8009 status');
  });

  it('the dashboard shows on each node card where it runs, with its raftctl command to copy', async () => {
    let alphaId = '';
    const state = makeState({ clusterId: 'r1', name: 'remote', kind: 'remote', nodes: ['n1', 'n2'].map((id, i) => makeNode({ id, kind: 'remote', role: i === 0 ? 'leader' : 'follower' })) });
    const api = apiWithCluster(state);
    const hosts = await withRealHosts(api);
    cleanups.push(hosts.close);
    const alpha = await hosts.service.create({ name: 'alpha', address: '198.51.100.11', port: 22, user: 'ops', auth: { kind: 'agent' }, jumpHostId: null, groups: [] });
    alphaId = alpha.id;
    api.handle('clusters.list', () => [
      makeCluster({
        id: 'r1',
        name: 'remote',
        kind: 'remote',
        nodes: [
          { id: 'n1', kind: 'remote', host: alphaId, peer: '198.51.100.11:7101', client: '127.0.0.1:8101' },
          { id: 'n2', kind: 'remote', host: alphaId, peer: '198.51.100.11:7102', client: '127.0.0.1:8102' },
        ],
      }),
    ]);
    const pinia = setupStores(api);
    useNavigationStore().go('dashboard', 'r1');
    const w = mount(DashboardView, { global: { plugins: [pinia] }, attachTo: document.body });
    cleanups.push(() => w.unmount());
    await flush(10);
    expect(byTestId('node-where-n2')?.textContent).toContain('alpha · peer 198.51.100.11:7102 · client 127.0.0.1:8102 on alpha');
    expect(byTestId('node-card-raftctl-copy-n2')?.getAttribute('title')).toContain('ssh -f -o ExitOnForwardFailure=yes -L 8102:127.0.0.1:8102 ops@198.51.100.11 sleep 10');
  });
});
