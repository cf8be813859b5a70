// Every ClusterDriver the console has passes the same contract (cluster-driver-contract.ts).
import { clusterKinds, type ClusterKind } from '../../../electron/services/cluster-kinds.js';
import { ClusterRegistry, type ClusterRecord } from '../../../electron/services/cluster-registry.js';
import type { ClusterDriver } from '../../../electron/services/cluster-driver.js';
import { DataLayout } from '../../../electron/services/paths.js';
import type { ClusterState } from '../../../electron/shared/api.js';
import { tempDir } from '../helpers.js';
import { driverContract, type DriverHarness } from './cluster-driver-contract.js';

/** A cluster made as clusters.create makes it: the kind defines the record, then attaches its driver. */
function harnessOf(kind: 'embedded' | 'local'): () => DriverHarness {
  return () => {
    let dir: Awaited<ReturnType<typeof tempDir>> | undefined;
    let driver: ClusterDriver | undefined;
    return {
      async open() {
        dir = await tempDir();
        const layout = new DataLayout(dir.path);
        const registry = await ClusterRegistry.open(layout.registryFile, () => undefined);
        const kinds = clusterKinds({
          layout,
          local: { extraArgs: ['--heartbeat-ms', '50', '--election-ms', '400'] },
          feed: { pollMs: 200, minRefreshMs: 50 },
          embeddedRuns: true,
        });
        const factory = kinds[kind] as ClusterKind;
        const ids = ['n1', 'n2', 'n3'];
        const id = `contract-${kind}`;
        const record: ClusterRecord = { id, name: kind, kind, createdAt: Date.now(), ...(await factory.define(ids, { kind, name: kind, size: 3 }, registry, id)) };
        await registry.add(record);
        const published: ClusterState[] = [];
        driver = await factory.attach(record, registry, (state) => published.push(state));
        await driver.start();
        return { driver, published };
      },
      async dispose() {
        await driver?.destroy();
        await dir?.remove();
      },
    };
  };
}

driverContract('EmbeddedDriver', harnessOf('embedded'));
driverContract('RaftdCluster on LocalHost', harnessOf('local'), 120_000);
