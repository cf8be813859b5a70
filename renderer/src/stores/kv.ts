// The KV console: put / get / delete / compare-and-swap, with where each write committed.
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { KvResult } from '../../../electron/shared/api';
import { useClusterStateStore } from './clusterState';
import { useConnectionStore } from './connection';
import { useOperationsStore } from './operations';

export type KvOp = 'put' | 'get' | 'delete' | 'cas';

export interface KvHistoryItem {
  id: number;
  at: number;
  op: KvOp;
  key: string;
  /** put: the value; cas: "from → to". */
  argument?: string;
  result?: KvResult;
  error?: string;
}

export const useKvStore = defineStore('kv', () => {
  const connection = useConnectionStore();
  const operations = useOperationsStore();
  const clusterState = useClusterStateStore();
  const op = ref<KvOp>('put');
  const key = ref('');
  const value = ref('');
  const casFrom = ref('');
  /** CAS "from nothing": succeed only if the key does not exist. */
  const casFromAbsent = ref(false);
  const stale = ref(false);
  const history = ref<KvHistoryItem[]>([]);
  const submitting = ref(false);
  let nextId = 1;

  const problem = computed(() => {
    if (!clusterState.current) return 'Open a cluster first.';
    if (!key.value) return 'Enter a key.';
    if (key.value.length > 4096) return 'Keys are at most 4096 characters.';
    return null;
  });

  function call(clusterId: string): Promise<KvResult> {
    switch (op.value) {
      case 'put':
        return connection.invoke('kv.put', { clusterId, key: key.value, value: value.value });
      case 'get':
        return connection.invoke('kv.get', { clusterId, key: key.value, stale: stale.value });
      case 'delete':
        return connection.invoke('kv.delete', { clusterId, key: key.value });
      case 'cas':
        return connection.invoke('kv.cas', { clusterId, key: key.value, from: casFromAbsent.value ? null : casFrom.value, to: value.value });
    }
  }

  async function submit() {
    const clusterId = clusterState.current?.clusterId;
    if (!clusterId || problem.value) return;
    const item: KvHistoryItem = { id: nextId++, at: Date.now(), op: op.value, key: key.value };
    if (op.value === 'put') item.argument = value.value;
    if (op.value === 'cas') item.argument = `${casFromAbsent.value ? '(absent)' : casFrom.value} → ${value.value}`;
    submitting.value = true;
    const outcome = await operations.run(`KV ${op.value} ${key.value}`, () => call(clusterId), { quiet: true });
    submitting.value = false;
    if (outcome.ok) item.result = outcome.value;
    else item.error = outcome.error;
    history.value = [item, ...history.value].slice(0, 200);
  }

  function clearHistory() {
    history.value = [];
  }

  return { op, key, value, casFrom, casFromAbsent, stale, history, submitting, problem, submit, clearHistory };
});
