// A guided "add node" can be cancelled until its promotion is proposed: it then undoes itself, so the
// cluster is exactly as before (same voters and learners, the new node stopped and gone). Past that
// point cancel is refused and the add finishes. A real embedded cluster, its time running; the steps
// that must be slow (provisioning, catching up) are made so by wrapping the driver, not by timing.
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { ActivityLog } from '../../../electron/services/activity.js';
import type { ClusterDriver, MembershipTarget } from '../../../electron/services/cluster-driver.js';
import type { NodeRecord } from '../../../electron/services/cluster-registry.js';
import { definedPorts, LocalHost, pickFreePorts } from '../../../electron/services/local-host.js';
import { RaftdCluster } from '../../../electron/services/raftd-cluster.js';
import { readLock } from '../../../core/process/pid-lock.js';
import { isProcessAlive } from '../../../core/process/processes.js';
import { clusterKinds } from '../../../electron/services/cluster-kinds.js';
import { ClusterRegistry, type ClusterRecord } from '../../../electron/services/cluster-registry.js';
import { MembershipGuide } from '../../../electron/services/membership.js';
import { OperationRunner } from '../../../electron/services/operations.js';
import { DataLayout } from '../../../electron/services/paths.js';
import type { ApiError, ClusterState, OperationProgress } from '../../../electron/shared/api.js';
import { eventually, tempDir } from '../helpers.js';

const ORIGINAL = ['a', 'b', 'c'];

/** The driver as the membership guide sees it, with some steps replaced. */
function wrap(driver: ClusterDriver, over: Partial<MembershipTarget>): MembershipTarget {
  return {
    clusterId: driver.clusterId,
    state: () => driver.state(),
    refresh: () => driver.refresh(),
    newNodeId: (requested) => driver.newNodeId(requested),
    provisionNode: (id, report, signal) => driver.provisionNode(id, report, signal),
    retireNode: (id) => driver.retireNode(id),
    addLearner: (id) => driver.addLearner(id),
    promote: (id) => driver.promote(id),
    remove: (id) => driver.remove(id),
    joint: (add, remove) => driver.joint(add, remove),
    transferLeader: (to) => driver.transferLeader(to),
    ...over,
  };
}

const sorted = (ids: string[]) => [...ids].sort();
const configuration = (s: ClusterState) => ({ voters: sorted(s.members.voters), votersOutgoing: s.members.votersOutgoing, learners: sorted(s.members.learners) });

/** The embedded cluster 'sim' is as before the add: the same configuration, nodes and registry record. */
async function expectAsBefore(driver: ClusterDriver, registry: ClusterRegistry, before: ReturnType<typeof configuration>): Promise<void> {
  const after = await driver.refresh();
  expect(configuration(after)).toEqual(before);
  expect(sorted(after.nodes.map((n) => n.id))).toEqual(ORIGINAL);
  expect(sorted(registry.get('sim').nodes.map((n) => n.id))).toEqual(ORIGINAL);
}

describe('cancelling a guided add', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  async function openCluster() {
    const dir = await tempDir();
    cleanup.push(dir.remove);
    const layout = new DataLayout(dir.path);
    const registry = await ClusterRegistry.open(layout.registryFile, () => undefined);
    const record: ClusterRecord = { id: 'sim', name: 'sim', kind: 'embedded', createdAt: Date.now(), seed: 11, nodes: ORIGINAL.map((id) => ({ id, kind: 'embedded' })) };
    await registry.add(record);
    const driver = await clusterKinds({ layout, embeddedRuns: false }).embedded.attach(record, registry, () => undefined);
    cleanup.push(() => driver.destroy());
    await driver.start();
    await driver.clock!('run', 5);
    await eventually(() => driver.state().leader || undefined, 'a leader');
    const progress: OperationProgress[] = [];
    const operations = new OperationRunner((p) => progress.push(p), new ActivityLog(() => undefined));
    // Threshold 0: a learner has caught up only once it holds every entry the leader has.
    const guide = new MembershipGuide(operations, { pollMs: 20, catchUpThreshold: 0 });
    const of = (operationId: string) => progress.filter((p) => p.operationId === operationId);
    const finished = (operationId: string) => eventually(() => of(operationId).find((p) => p.done), 'the add to end', 60_000);
    return { driver, registry, operations, guide, of, finished };
  }

  it('cancelled while the learner catches up: the learner leaves the configuration and the new node is stopped and gone', async () => {
    const { driver, registry, operations, guide, of, finished } = await openCluster();
    const before = configuration(driver.state());
    const target = wrap(driver, {
      // Cut off from the others as soon as it is up: the learner never catches up.
      provisionNode: async (id, report, signal) => {
        await driver.provisionNode(id, report, signal);
        await driver.partition([[id]]);
      },
    });
    const { operationId, nodeId } = guide.addNode(target);
    await eventually(() => of(operationId).some((p) => p.step.startsWith('catching up') || p.step === 'waiting for the learner to catch up'), 'the catch-up wait');
    expect(driver.state().members.learners).toEqual([nodeId]);
    expect(of(operationId).at(-1)?.cancellable).toBe(true);

    expect(operations.cancel(operationId)).toBe(true);
    const end = await finished(operationId);
    expect(end).toMatchObject({
      cancelled: true,
      error: `cancelled: the learner ${nodeId} was removed from the configuration; ${nodeId} was stopped and removed; the configuration is as before`,
    });
    await expectAsBefore(driver, registry, before);
  });

  it('cancelled while the new node is being started: once started it is stopped and removed, and never joins', async () => {
    const { driver, registry, operations, guide, of, finished } = await openCluster();
    const before = configuration(driver.state());
    let started!: () => void;
    const provisioning = new Promise<void>((resolve) => (started = resolve));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const learnersAdded: string[] = [];
    const target = wrap(driver, {
      // A start that cannot be stopped half-way (it ignores the signal): cancel takes effect once it is done.
      provisionNode: async (id, report) => {
        started();
        await gate;
        await driver.provisionNode(id, report);
      },
      addLearner: (id) => {
        learnersAdded.push(id);
        return driver.addLearner(id);
      },
    });
    const { operationId, nodeId } = guide.addNode(target);
    await provisioning;
    expect(operations.cancel(operationId)).toBe(true);
    release();
    const end = await finished(operationId);
    expect(end).toMatchObject({ cancelled: true, error: `cancelled: ${nodeId} was stopped and removed; the configuration is as before` });
    expect(learnersAdded).toEqual([]);
    await expectAsBefore(driver, registry, before);
  });

  it('cancelled while a start that honours the signal is under way: nothing was defined, nothing is left', async () => {
    const { driver, registry, operations, guide, of, finished } = await openCluster();
    const before = configuration(driver.state());
    let started!: () => void;
    const provisioning = new Promise<void>((resolve) => (started = resolve));
    const target = wrap(driver, {
      // A deploy that stops on abort, before the node is defined.
      provisionNode: (_id, _report, signal) =>
        new Promise<void>((_resolve, reject) => {
          started();
          signal?.addEventListener('abort', () => reject(new Error('upload stopped')));
        }),
    });
    const { operationId, nodeId } = guide.addNode(target);
    await provisioning;
    expect(operations.cancel(operationId)).toBe(true);
    const end = await finished(operationId);
    expect(end).toMatchObject({ cancelled: true, error: `cancelled: ${nodeId} was not started; nothing changed` });
    expect(of(operationId).some((p) => p.step.startsWith('cancelling'))).toBe(false);
    await expectAsBefore(driver, registry, before);
  });

  it('cancelled while the learner is being added: the change is let finish, then undone', async () => {
    const { driver, registry, operations, guide, finished } = await openCluster();
    const before = configuration(driver.state());
    let operationId = '';
    const target = wrap(driver, {
      addLearner: (id) => {
        const change = driver.addLearner(id);
        expect(operations.cancel(operationId)).toBe(true);
        return change;
      },
    });
    const added = guide.addNode(target);
    operationId = added.operationId;
    const { nodeId } = added;
    const end = await finished(operationId);
    expect(end).toMatchObject({
      cancelled: true,
      error: `cancelled: the learner ${nodeId} was removed from the configuration; ${nodeId} was stopped and removed; the configuration is as before`,
    });
    await expectAsBefore(driver, registry, before);
  });

  it('once the promotion is proposed, cancel is refused with the reason and the node ends a voter', async () => {
    const { driver, operations, guide, of, finished } = await openCluster();
    const before = configuration(driver.state());
    let operationId = '';
    let refusal: unknown;
    const target = wrap(driver, {
      promote: (id) => {
        try {
          operations.cancel(operationId);
        } catch (error) {
          refusal = error;
        }
        return driver.promote(id);
      },
    });
    const added = guide.addNode(target);
    operationId = added.operationId;
    const { nodeId } = added;
    const end = await finished(operationId);
    expect(end.error).toBeUndefined();
    expect(end.cancelled).toBeUndefined();
    expect(refusal).toMatchObject({
      code: 'refused',
      message: `"Add ${nodeId}" can no longer be cancelled: the promotion of ${nodeId} to voter has been proposed; it finishes, and removing ${nodeId} is a separate change`,
    } satisfies Partial<ApiError>);
    // Cancellable while catching up; from the promotion on, progress no longer offers it and says so.
    const steps = of(operationId);
    const promoting = steps.findIndex((p) => p.step.startsWith(`promoting ${nodeId}`));
    expect(promoting).toBeGreaterThan(0);
    expect(steps.slice(0, promoting).every((p) => p.cancellable === true)).toBe(true);
    expect(steps.slice(promoting).some((p) => p.cancellable)).toBe(false);
    expect(steps[promoting].step).toBe(`promoting ${nodeId} to voter; cancel is no longer possible`);
    const after = await driver.refresh();
    expect(configuration(after)).toEqual({ ...before, voters: sorted([...before.voters, nodeId]) });
  });
});

describe('cancelling a guided add on local raftd processes', () => {
  const SLOW = 120_000;
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  /** Three raftd processes; `define` decides how a new node is defined (where a remote cluster deploys). */
  async function openCluster(define?: (id: string, signal?: AbortSignal) => Promise<void>) {
    const dir = await tempDir();
    cleanup.push(dir.remove);
    const layout = new DataLayout(dir.path);
    const registry = await ClusterRegistry.open(layout.registryFile, () => undefined);
    const loopback = async (ids: string[]): Promise<NodeRecord[]> => {
      const ports = await pickFreePorts(ids.length * 2, definedPorts(registry.list()));
      return ids.map((id, i) => ({ id, kind: 'local', peer: `127.0.0.1:${ports[2 * i]}`, client: `127.0.0.1:${ports[2 * i + 1]}` }));
    };
    await registry.add({ id: 'local', name: 'local', kind: 'local', createdAt: Date.now(), nodes: await loopback(ORIGINAL) });
    const host = new LocalHost(layout, 'local', { extraArgs: ['--heartbeat-ms', '50', '--election-ms', '400'] });
    const driver = await RaftdCluster.open('local', registry, host, () => undefined, {
      feed: { pollMs: 200, minRefreshMs: 50 },
      defineNode: async (id, _report, signal) => {
        await define?.(id, signal);
        return (await loopback([id]))[0];
      },
    });
    cleanup.push(() => driver.destroy());
    await driver.start();
    await eventually(async () => {
      const s = await driver.refresh();
      return s.leader !== '' && s.nodes.every((n) => n.reachable) ? s : undefined;
    }, 'a leader with every node up', 60_000);
    const progress: OperationProgress[] = [];
    const operations = new OperationRunner((p) => progress.push(p), new ActivityLog(() => undefined));
    const guide = new MembershipGuide(operations, { pollMs: 50, catchUpThreshold: 0 });
    const of = (operationId: string) => progress.filter((p) => p.operationId === operationId);
    const finished = (operationId: string) => eventually(() => of(operationId).find((p) => p.done), 'the add to end', 60_000);
    /** The node's process is gone and so is its data. */
    const leftNothing = (id: string) => {
      const lock = readLock(layout.nodeLock('local', id));
      expect([lock?.pid, lock?.child?.pid].filter((pid) => pid !== undefined && isProcessAlive(pid))).toEqual([]);
      expect(existsSync(layout.nodeDataDir('local', id))).toBe(false);
    };
    return { driver, registry, operations, guide, of, finished, leftNothing };
  }

  it('cancelled while the learner catches up: removed from the configuration, its process stopped, its data deleted', { timeout: SLOW }, async () => {
    const { driver, registry, operations, guide, of, finished, leftNothing } = await openCluster();
    const before = configuration(await driver.refresh());
    const target = wrap(driver, {
      // Cut off from the others (raftd's /v1/fault) as soon as it runs: it never catches up.
      provisionNode: async (id, report, signal) => {
        await driver.provisionNode(id, report, signal);
        await driver.partition([[id]]);
      },
    });
    const { operationId, nodeId } = guide.addNode(target);
    await eventually(() => of(operationId).some((p) => p.step.startsWith('catching up') || p.step === 'waiting for the learner to catch up'), 'the catch-up wait', 60_000);
    expect((await driver.refresh()).members.learners).toEqual([nodeId]);

    expect(operations.cancel(operationId)).toBe(true);
    const end = await finished(operationId);
    expect(end).toMatchObject({
      cancelled: true,
      error: `cancelled: the learner ${nodeId} was removed from the configuration; ${nodeId} was stopped and removed; the configuration is as before`,
    });
    const after = await eventually(async () => {
      const s = await driver.refresh();
      return s.nodes.length === ORIGINAL.length ? s : undefined;
    }, 'the state without the new node');
    expect(configuration(after)).toEqual(before);
    expect(sorted(after.nodes.map((n) => n.id))).toEqual(ORIGINAL);
    expect(sorted(registry.get('local').nodes.map((n) => n.id))).toEqual(ORIGINAL);
    leftNothing(nodeId);
  });

  it('cancelled while the new node is being defined (a deploy shared with another caller runs on): it is never saved or started', { timeout: SLOW }, async () => {
    let started!: () => void;
    const defining = new Promise<void>((resolve) => (started = resolve));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { driver, registry, operations, guide, finished, leftNothing } = await openCluster(async () => {
      started();
      await gate;
    });
    const before = configuration(await driver.refresh());
    const { operationId, nodeId } = guide.addNode(driver);
    await defining;
    expect(operations.cancel(operationId)).toBe(true);
    release();
    const end = await finished(operationId);
    expect(end).toMatchObject({ cancelled: true, error: `cancelled: ${nodeId} was not started; nothing changed` });
    expect(configuration(await driver.refresh())).toEqual(before);
    expect(sorted(registry.get('local').nodes.map((n) => n.id))).toEqual(ORIGINAL);
    leftNothing(nodeId);
  });
});
