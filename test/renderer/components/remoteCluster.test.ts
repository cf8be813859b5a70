// @vitest-environment happy-dom
// Creating a remote cluster from the Clusters view: hosts and nodes per host, the backend's plan per
// host (remote.plan), then clusters.create with one host per node; and where each node runs.
import { mount } from '@vue/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClusterSummary, RemoteDeployPlan } from '../../../electron/shared/api';
import { formatBytes } from '../../../renderer/src/logic/hosts';
import { useNavigationStore } from '../../../renderer/src/stores/navigation';
import ClustersView from '../../../renderer/src/views/ClustersView.vue';
import { apiWithCluster, flush, makeCluster, setupStores, type FakeApi } from '../fakeApi';
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

describe('remote cluster wizard', () => {
  it('places nodes on the chosen hosts, shows what each deploy sends or why it cannot, and creates with one host per node', async () => {
    const api = apiWithCluster()
      .handle('remote.plan', (p) => {
        if (p.host === betaId && !p.uploadRuntime) throw Object.assign(new Error('beta has no Node >= 20; upload the console’s runtime (95 MB) or install Node 20'), { code: 'refused' });
        return p.host === betaId ? { ...hostNodePlan(p.host), hostNode: null, runtime: 'uploaded', runtimeBytes: 95_000_000, runtimePresent: false, uploadBytes: 96_800_000 } : hostNodePlan(p.host);
      })
      .handle('clusters.create', (p) => new Promise((resolve) => (finishCreate = () => resolve(makeCluster({ id: 'r1', name: p.name, kind: p.kind })))));
    let finishCreate = () => {};
    let betaId = '';
    const { alpha, beta } = await setup(api);
    betaId = beta.id;

    byTestId('create-cluster')!.click();
    await flush();
    byTestId('wizard-kind-remote')!.querySelector('input')!.click();
    await flush();
    byTestId('wizard-next')!.click();
    await flush();
    expect(byTestId('wizard-problems')?.textContent).toContain('Choose how many nodes run on at least one host.');
    await setNumber(`remote-host-count-${alpha.id}`, 2);
    await setNumber(`remote-host-count-${beta.id}`, 1);
    expect(byTestId('wizard-problems')).toBeNull();
    expect(byTestId('wizard-size-advice')?.textContent).toContain('majority 2 of 3');
    byTestId('wizard-next')!.click();
    await flush(10);

    expect(api.callsOf('remote.plan')).toEqual([
      { host: alpha.id, uploadRuntime: false },
      { host: beta.id, uploadRuntime: false },
    ]);
    expect(byTestId(`remote-plan-${alpha.id}`)?.textContent).toContain('n1, n2');
    expect(byTestId(`remote-plan-${alpha.id}`)?.textContent).toContain('198.51.100.11');
    expect(byTestId(`remote-plan-upload-${alpha.id}`)?.textContent).toContain(`raftd uploads ${formatBytes(1_800_000)}`);
    expect(byTestId(`remote-plan-error-${beta.id}`)?.textContent).toContain('no Node >= 20');
    expect(byTestId('wizard-create')?.hasAttribute('disabled')).toBe(true);

    byTestId('remote-upload-runtime')!.click();
    await flush(10);
    expect(byTestId(`remote-plan-upload-${beta.id}`)?.textContent).toContain(`uploads ${formatBytes(95_000_000)}`);
    expect(byTestId('remote-plan-total')?.textContent).toContain(formatBytes(1_800_000 + 96_800_000));
    byTestId('wizard-create')!.click();
    await flush(10);
    // While the backend deploys, its progress events show in the wizard.
    api.emit('operation.progress', { operationId: 'op-1', clusterId: 'cluster-2', title: 'Deploy raftd to alpha', step: 'n1: upload raftd', fraction: 0.25, done: false });
    await flush();
    expect(byTestId('remote-deploy-op-op-1')?.textContent).toContain('Deploy raftd to alpha: n1: upload raftd');
    expect(byTestId('remote-deploy-op-op-1')?.textContent).toContain('25');
    finishCreate();
    await flush(10);
    expect(api.callsOf('clusters.create')).toEqual([
      { name: 'cluster-2', kind: 'remote', size: 3, nodeNames: ['n1', 'n2', 'n3'], hosts: [alpha.id, alpha.id, beta.id], uploadRuntime: true },
    ]);
  });

  it('shows where each node runs, with a raftctl command that reaches its loopback client port through SSH', async () => {
    await setup(apiWithCluster(), (alpha, beta) => [
      makeCluster({
        id: 'r1',
        name: 'remote',
        kind: 'remote',
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
    expect(byTestId('node-raftctl-n2')?.textContent).toBe('ssh -f -N -L 8102:127.0.0.1:8102 ops@198.51.100.12 -p 2222 && npx raftctl --endpoints 127.0.0.1:8102 status');
    expect(byTestId('node-raftctl-n9')?.textContent).toBe('npx raftctl --endpoints 127.0.0.1:8009 status');
  });
});
