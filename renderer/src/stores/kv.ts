// The KV console: put / get / delete / compare-and-swap, with where each write committed. Results are
// kept per cluster: what one cluster answered never shows under another.
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { keyTooLarge, valueTooLarge } from '../../../core/kv/limits';
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

const KEPT = 200;

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
  const histories = ref<Record<string, KvHistoryItem[]>>({});
  const submitting = ref(false);
  let nextId = 1;

  const history = computed(() => {
    const clusterId = clusterState.current?.clusterId;
    return clusterId ? histories.value[clusterId] ?? [] : [];
  });

  /** Why the command cannot be sent as it is, checked before sending with the API's own limits. */
  const problem = computed(() => {
    if (!clusterState.current) return 'Open a cluster first.';
    if (clusterState.readOnlyReason) return clusterState.readOnlyReason;
    if (!key.value) return 'Enter a key.';
    const tooLong = keyTooLarge(key.value);
    if (tooLong) return tooLong;
    if (op.value === 'put' || op.value === 'cas') {
      const tooLarge = valueTooLarge(value.value) ?? (op.value === 'cas' && !casFromAbsent.value ? valueTooLarge(casFrom.value) : null);
      if (tooLarge) return tooLarge;
    }
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

  function record(clusterId: string, item: KvHistoryItem) {
    histories.value = { ...histories.value, [clusterId]: [item, ...(histories.value[clusterId] ?? [])].slice(0, KEPT) };
  }

  async function submit() {
    const clusterId = clusterState.current?.clusterId;
    if (!clusterId || problem.value || submitting.value) return;
    const item: KvHistoryItem = { id: nextId++, at: Date.now(), op: op.value, key: key.value };
    if (op.value === 'put') item.argument = value.value;
    if (op.value === 'cas') item.argument = `${casFromAbsent.value ? '(absent)' : casFrom.value} → ${value.value}`;
    submitting.value = true;
    const outcome = await operations.run(`KV ${op.value} ${key.value}`, () => call(clusterId), { quiet: true });
    submitting.value = false;
    if (outcome.ok) item.result = outcome.value;
    else item.error = outcome.error;
    // Filed under the cluster that answered, even if the user has moved to another meanwhile.
    record(clusterId, item);
  }

  function clearHistory() {
    const clusterId = clusterState.current?.clusterId;
    if (clusterId) histories.value = { ...histories.value, [clusterId]: [] };
  }

  return { op, key, value, casFrom, casFromAbsent, stale, history, submitting, problem, submit, clearHistory };
});
