// An in-test ConsoleApi: records every call, answers from per-method handlers, and pushes events on demand.
import { actionsNow } from '../../electron/services/cluster-driver';
import { createPinia, setActivePinia, type Pinia } from 'pinia';
import {
  ApiError,
  type ClusterState,
  type ClusterSummary,
  type ConsoleApi,
  type EventName,
  type Events,
  type Method,
  type NodeAction,
  type NodeView,
  type Params,
  type Results,
} from '../../electron/shared/api';
import { clusterFacts } from '../../electron/shared/cluster-facts';
import type { Connection, ConnectionStatus } from '../../renderer/src/api/connection';
import { useConnectionStore } from '../../renderer/src/stores/connection';

type Handler<M extends Method> = (params: Params<M>) => Results[M] | Promise<Results[M]>;

export class FakeApi implements ConsoleApi {
  readonly calls: { method: Method; params: unknown }[] = [];
  private handlers = new Map<Method, Handler<Method>>();
  private listeners = new Map<EventName, Set<(payload: unknown) => void>>();

  handle<M extends Method>(method: M, handler: Handler<M>): this {
    this.handlers.set(method, handler as unknown as Handler<Method>);
    return this;
  }

  invoke<M extends Method>(method: M, params: Params<M>): Promise<Results[M]> {
    this.calls.push({ method, params });
    const handler = this.handlers.get(method) as Handler<M> | undefined;
    if (!handler) return Promise.reject(new ApiError('not-found', `no handler for ${method}`));
    return Promise.resolve().then(() => handler(params));
  }

  on<E extends EventName>(event: E, listener: (payload: Events[E]) => void): () => void {
    const set = this.listeners.get(event) ?? new Set();
    set.add(listener as (payload: unknown) => void);
    this.listeners.set(event, set);
    return () => set.delete(listener as (payload: unknown) => void);
  }

  emit<E extends EventName>(event: E, payload: Events[E]) {
    for (const l of this.listeners.get(event) ?? []) l(payload);
  }

  listenerCount(event: EventName): number {
    return this.listeners.get(event)?.size ?? 0;
  }

  callsOf<M extends Method>(method: M): Params<M>[] {
    return this.calls.filter((c) => c.method === method).map((c) => c.params as Params<M>);
  }
}

export function fakeConnection(api: ConsoleApi, status: ConnectionStatus = 'open'): Connection & { setStatus(s: ConnectionStatus): void } {
  const listeners = new Set<(s: ConnectionStatus) => void>();
  let current = status;
  return {
    api,
    transport: 'test',
    get status() {
      return current;
    },
    onStatus(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    close() {},
    setStatus(s) {
      current = s;
      for (const l of listeners) l(s);
    },
  };
}

/** A fresh Pinia wired to `api`; the default handlers answer the requests every store makes at start. */
export function setupStores(api: FakeApi): Pinia {
  const pinia = createPinia();
  setActivePinia(pinia);
  useConnectionStore().attach(fakeConnection(api));
  return pinia;
}

/** Lets queued promise callbacks (fake API answers) run. */
export async function flush(times = 5) {
  for (let i = 0; i < times; i++) await new Promise((r) => setTimeout(r, 0));
}

/** Every node action: fixtures stand for a driver that can do them all unless they say otherwise. */
const allActions: NodeAction[] = ['start', 'stop', 'kill', 'pause', 'resume', 'restart', 'forceNewCluster'];

export function makeNode(overrides: Partial<NodeView> & { id: string }): NodeView {
  return {
    // What the backend would offer for the node's process state.
    actions: actionsNow(overrides.process ?? 'running', allActions),
    kind: 'embedded',
    process: 'running',
    reachable: true,
    lastSeen: 1000,
    role: 'follower',
    membership: 'voter',
    term: 2,
    vote: 'n1',
    leader: 'n1',
    commitIndex: 3,
    appliedIndex: 3,
    lastIndex: 3,
    firstIndex: 1,
    snapshotIndex: 0,
    logTail: [],
    ...overrides,
  };
}

export function makeState(overrides: Partial<ClusterState> = {}): ClusterState {
  const nodes = overrides.nodes ?? [
    makeNode({ id: 'n1', role: 'leader' }),
    makeNode({ id: 'n2' }),
    makeNode({ id: 'n3' }),
  ];
  const state = {
    clusterId: 'demo',
    name: 'Demo',
    kind: 'embedded' as const,
    capabilities: { nodeActions: allActions, simulatedClock: (overrides.kind ?? 'embedded') === 'embedded', dropMessages: (overrides.kind ?? 'embedded') === 'embedded', electionTimers: (overrides.kind ?? 'embedded') === 'embedded', stopAll: (overrides.kind ?? 'embedded') !== 'embedded' },
    at: 1000,
    leader: 'n1',
    term: 2,
    members: { voters: nodes.filter((n) => n.membership === 'voter').map((n) => n.id), votersOutgoing: [], learners: nodes.filter((n) => n.membership === 'learner').map((n) => n.id) },
    nodes,
    timeline: [],
    ...overrides,
  };
  // The facts the backend would send with this state, by the same shared rules.
  return { ...state, facts: overrides.facts ?? clusterFacts(state) };
}

export function makeCluster(overrides: Partial<ClusterSummary> & { id: string }): ClusterSummary {
  return {
    name: overrides.id,
    kind: 'embedded',
    nodes: [{ id: 'n1', kind: 'embedded' }, { id: 'n2', kind: 'embedded' }, { id: 'n3', kind: 'embedded' }],
    createdAt: 0,
    health: 'healthy',
    // As the kind's driver would say: raftd-backed clusters stop as a whole, embedded ones pause their clock.
    capabilities: { nodeActions: allActions, simulatedClock: (overrides.kind ?? 'embedded') === 'embedded', dropMessages: (overrides.kind ?? 'embedded') === 'embedded', electionTimers: (overrides.kind ?? 'embedded') === 'embedded', stopAll: (overrides.kind ?? 'embedded') !== 'embedded' },
    ...overrides,
  };
}

/** A FakeApi that answers the start-up requests for one cluster. */
export function apiWithCluster(state: ClusterState = makeState(), clusters: ClusterSummary[] = [makeCluster({ id: state.clusterId, name: state.name, kind: state.kind })]): FakeApi {
  return new FakeApi()
    .handle('clusters.list', () => clusters)
    .handle('cluster.state', () => state)
    .handle('activity.list', () => [])
    .handle('nodeLogs.read', () => [])
    .handle('log.entries', () => [])
    .handle('membership.plan', () => ({ safe: true, reason: 'all voters are up', before: { voters: 3, majority: 2 }, after: { voters: 3, majority: 2 } }));
}

/**
 * happy-dom does no layout, so every element measures 0×0 and virtual lists show no rows. Give elements a
 * viewport-sized client box for the duration of a test file; returns the undo.
 */
export function giveElementsASize(width = 1000, height = 700): () => void {
  const proto = HTMLElement.prototype;
  const saved = ['clientWidth', 'clientHeight'].map((k) => [k, Object.getOwnPropertyDescriptor(proto, k)] as const);
  Object.defineProperty(proto, 'clientWidth', { configurable: true, get: () => width });
  Object.defineProperty(proto, 'clientHeight', { configurable: true, get: () => height });
  return () => {
    for (const [k, d] of saved) {
      if (d) Object.defineProperty(proto, k, d);
      else delete (proto as unknown as Record<string, unknown>)[k];
    }
  };
}
