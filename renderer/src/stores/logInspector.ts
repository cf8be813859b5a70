// Every node's log, fetched page by page for the rows on screen, with the state's log tails on top.
// Committed entries never change, so a page is refetched only for indices above what was committed.
// At a recorded moment the log is read as it is now, so only what was committed then is taken from
// it; an uncommitted entry is known only from the moment's recorded tail.
import { defineStore } from 'pinia';
import { computed, ref, shallowRef, watch } from 'vue';
import type { LogEntryDetail, LogEntryView, NodeView } from '../../../electron/shared/api';
import { readableError } from '../logic/errors';
import { nodeIsUp } from '../../../electron/shared/cluster-facts';
import { buildRow, firstDivergence, PAGE_SIZE, pagesFor, pageStart, rowBounds, type AbsentKind, type LogCell, type NodeLogMeta } from '../logic/logAlignment';
import { useClusterStateStore } from './clusterState';
import { useConnectionStore } from './connection';
import { useTimeTravelStore } from './timeTravel';

interface Page {
  entries: Map<number, LogEntryView>;
  /** The node's commit index when fetched: entries up to it are final. */
  stableUpTo: number;
  /** The node's last index and term when fetched: if they moved, entries above stableUpTo may be stale. */
  lastIndex: number;
  term: number;
  /** The first index the node still held when read (null: none of the page): below it, compacted. */
  firstHeld: number | null;
}

type PageKey = `${string}#${number}`;

/** How long after a failed page read it is tried again. */
const FETCH_RETRY_MS = 1000;

export const useLogInspectorStore = defineStore('logInspector', () => {
  const connection = useConnectionStore();
  const clusterState = useClusterStateStore();
  const timeTravel = useTimeTravelStore();
  const pages = shallowRef(new Map<PageKey, Page>());
  const inflight = new Set<PageKey>();
  /** Rows on screen, as the grid reports them; nothing is fetched before it does. */
  const visible = ref<{ from: number; to: number } | null>(null);
  const loadError = ref<string | null>(null);
  const selected = ref<{ nodeId: string; index: number } | null>(null);
  const detail = ref<LogEntryDetail | null>(null);
  const detailError = ref<string | null>(null);
  const detailLoading = ref(false);
  let clusterId: string | undefined;

  const nodes = computed<NodeView[]>(() => clusterState.current?.nodes ?? []);
  const meta = computed<NodeLogMeta[]>(() =>
    nodes.value.map((n) => ({ id: n.id, commitIndex: n.commitIndex, appliedIndex: n.appliedIndex, lastIndex: n.lastIndex, firstIndex: n.firstIndex, snapshotIndex: n.snapshotIndex })),
  );
  const byId = computed(() => new Map(nodes.value.map((n) => [n.id, n])));
  /** At a recorded moment, the highest index of a node's log that the log read now can tell. */
  const readableUpTo = (node: NodeView) => (timeTravel.past ? node.commitIndex : Infinity);
  const leaderId = computed(() => clusterState.current?.leader ?? '');
  const down = computed(() => nodes.value.filter((n) => !nodeIsUp(n)).map((n) => n.id));
  const bounds = computed(() => rowBounds(meta.value));
  const rowCount = computed(() => (bounds.value ? bounds.value.last - bounds.value.first + 1 : 0));

  const tails = computed(() => {
    const out = new Map<string, Map<number, LogEntryView>>();
    for (const n of nodes.value) out.set(n.id, new Map(n.logTail.map((e) => [e.index, e])));
    return out;
  });

  const pageOf = (nodeId: string, index: number) => pages.value.get(`${nodeId}#${Math.floor((index - 1) / PAGE_SIZE)}`);

  function lookup(nodeId: string, index: number): LogEntryView | undefined {
    const recorded = tails.value.get(nodeId)?.get(index);
    if (recorded) return recorded;
    const node = byId.value.get(nodeId);
    return node && index <= readableUpTo(node) ? pageOf(nodeId, index)?.entries.get(index) : undefined;
  }

  /** Only at a recorded moment does an entry stay away for good (see CellKind). */
  function absent(nodeId: string, index: number): AbsentKind | undefined {
    const node = byId.value.get(nodeId);
    if (!timeTravel.past || !node) return undefined;
    if (index > readableUpTo(node)) return 'unrecorded';
    const page = pageOf(nodeId, index);
    return page && (page.firstHeld === null || index < page.firstHeld) ? 'gone' : undefined;
  }

  /** Row i of the inspector (0-based from the first shown index). */
  function row(i: number): LogCell[] {
    const first = bounds.value?.first ?? 1;
    return buildRow(first + i, meta.value, lookup, leaderId.value, absent);
  }

  function indexOfRow(i: number): number {
    return (bounds.value?.first ?? 1) + i;
  }

  function rowOfIndex(index: number): number {
    return index - (bounds.value?.first ?? 1);
  }

  /** Whether the on-screen part [from, to] of a page holds indices that neither the tail nor a fresh cache covers. */
  function needsFetch(node: NodeView, page: number, from: number, to: number): boolean {
    const start = Math.max(pageStart(page), node.firstIndex, from);
    const end = Math.min(pageStart(page) + PAGE_SIZE - 1, node.lastIndex, to);
    const tailFirst = node.logTail.length ? node.logTail[0].index : Infinity;
    const uncoveredEnd = Math.min(end, tailFirst - 1, readableUpTo(node));
    if (uncoveredEnd < start) return false;
    const cached = pages.value.get(`${node.id}#${page}`);
    if (!cached) return true;
    const moved = cached.lastIndex !== node.lastIndex || cached.term !== node.term;
    return moved && uncoveredEnd > cached.stableUpTo;
  }

  async function fetchPage(node: NodeView, page: number) {
    const key: PageKey = `${node.id}#${page}`;
    const id = clusterId;
    if (!id || inflight.has(key)) return;
    inflight.add(key);
    const from = Math.max(pageStart(page), node.firstIndex);
    try {
      const entries = await connection.invoke('log.entries', { clusterId: id, nodeId: node.id, from, limit: PAGE_SIZE - (from - pageStart(page)) });
      if (id !== clusterId) return;
      const next = new Map(pages.value);
      next.set(key, { entries: new Map(entries.map((e) => [e.index, e])), stableUpTo: node.commitIndex, lastIndex: node.lastIndex, term: node.term, firstHeld: entries[0]?.index ?? null });
      pages.value = next;
      loadError.value = null;
    } catch (e) {
      loadError.value = `Could not read ${node.id}'s log: ${readableError(e)}`;
      // A node restarting or briefly unreachable: read again, or its rows stay 'loading' until the state changes.
      setTimeout(() => id === clusterId && ensureVisible(), FETCH_RETRY_MS);
    } finally {
      inflight.delete(key);
    }
  }

  function ensureVisible() {
    if (!bounds.value || !visible.value) return;
    const from = indexOfRow(visible.value.from);
    const to = Math.min(indexOfRow(visible.value.to), bounds.value.last);
    const wanted = pagesFor(from, to);
    for (const node of nodes.value) for (const page of wanted) if (needsFetch(node, page, from, to)) void fetchPage(node, page);
  }

  /** The view reports which rows are on screen (0-based, inclusive). */
  function setVisibleRows(from: number, to: number) {
    visible.value = { from, to };
    ensureVisible();
  }

  watch(
    () => clusterState.current,
    (state) => {
      if (state?.clusterId !== clusterId) {
        clusterId = state?.clusterId;
        pages.value = new Map();
        selected.value = null;
        detail.value = null;
      }
      ensureVisible();
    },
    { immediate: true },
  );

  async function select(nodeId: string, index: number) {
    selected.value = { nodeId, index };
    detail.value = null;
    detailError.value = null;
    if (!clusterId) return;
    detailLoading.value = true;
    try {
      const shown = lookup(nodeId, index);
      const result = await connection.invoke('log.entry', { clusterId, nodeId, index });
      if (selected.value?.nodeId !== nodeId || selected.value.index !== index) return;
      // Read from the log as it is now: at a recorded moment, an entry since replaced is not the one shown.
      if (shown && result.term !== shown.term) {
        detailError.value = `${nodeId}'s entry ${index} has been replaced since this moment (term ${shown.term} then, ${result.term} now); its content was not recorded`;
      } else {
        detail.value = result;
      }
    } catch (e) {
      detailError.value = readableError(e);
    } finally {
      detailLoading.value = false;
    }
  }

  function closeDetail() {
    selected.value = null;
    detail.value = null;
    detailError.value = null;
  }

  /** A scroll request for the grid; `seq` distinguishes repeated jumps to the same row. */
  const jump = ref<{ row: number; seq: number } | null>(null);
  let jumpSeq = 0;

  function jumpToIndex(index: number) {
    if (!bounds.value) return;
    const clamped = Math.min(Math.max(index, bounds.value.first), bounds.value.last);
    jump.value = { row: rowOfIndex(clamped), seq: ++jumpSeq };
  }

  const jumpToCommit = () => jumpToIndex(clusterState.leaderNode?.commitIndex ?? bounds.value?.last ?? 1);
  const jumpToEnd = () => jumpToIndex(bounds.value?.last ?? 1);

  /** Terms present in the recent logs, for the color legend. */
  const terms = computed(() => [...new Set(nodes.value.flatMap((n) => n.logTail.map((e) => e.term)))].sort((a, b) => a - b));

  /** Followers whose recent log disagrees with the leader's, and where. */
  const divergences = computed(() => {
    const leader = nodes.value.find((n) => n.id === leaderId.value);
    if (!leader) return [];
    return nodes.value
      .filter((n) => n.id !== leader.id)
      .map((n) => ({ nodeId: n.id, index: firstDivergence(leader.logTail, n.logTail) }))
      .filter((d): d is { nodeId: string; index: number } => d.index !== undefined);
  });

  return {
    nodes,
    bounds,
    rowCount,
    leaderId,
    down,
    loadError,
    selected,
    detail,
    detailError,
    detailLoading,
    divergences,
    jump,
    terms,
    jumpToIndex,
    jumpToCommit,
    jumpToEnd,
    row,
    indexOfRow,
    rowOfIndex,
    setVisibleRows,
    select,
    closeDetail,
    lookup,
  };
});
