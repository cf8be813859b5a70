// @vitest-environment happy-dom
import { mount } from '@vue/test-utils';
import { describe, expect, it } from 'vitest';
import type { LogEntryView } from '../../../electron/shared/api';
import LogGrid from '../../../renderer/src/components/LogGrid.vue';
import { buildRow, type NodeLogMeta } from '../../../renderer/src/logic/logAlignment';

const ROWS = 100_000;
const nodes: NodeLogMeta[] = [
  { id: 'n1', lastIndex: ROWS, commitIndex: ROWS - 1, appliedIndex: ROWS - 1, snapshotIndex: 0, firstIndex: 1 },
  { id: 'n2', lastIndex: ROWS, commitIndex: ROWS - 1, appliedIndex: ROWS - 1, snapshotIndex: 0, firstIndex: 1 },
];
const lookup = (nodeId: string, index: number): LogEntryView => ({
  index,
  term: nodeId === 'n2' && index === 3 ? 1 : 2,
  type: index === 1 ? 'noop' : 'normal',
  summary: `put k${index}`,
});

function mountGrid(row = (i: number) => buildRow(i + 1, nodes, lookup, 'n1')) {
  return mount(LogGrid, {
    props: {
      nodeIds: ['n1', 'n2'],
      leader: 'n1',
      down: ['n2'],
      rowCount: ROWS,
      row,
      indexOfRow: (i: number) => i + 1,
      dark: false,
      selected: null,
      jump: null,
    },
  });
}

describe('LogGrid', () => {
  it('renders only a window of 100,000 rows, aligned by index across nodes', () => {
    const w = mountGrid();
    const rows = w.findAll('[data-testid^="log-row-"]');
    expect(rows.length).toBeGreaterThan(10);
    expect(rows.length).toBeLessThan(200);
    expect(w.find('[data-testid="log-cell-n1-2"]').attributes('data-term')).toBe('2');
    expect(w.find('[data-testid="log-cell-n1-1"]').text()).toContain('no-op');
    expect(w.find('[data-testid="log-head-n1"]').text()).toBe('n1 ★');
    expect(w.find('[data-testid="log-head-n2"]').text()).toBe('n2 · down');
  });

  it('highlights the follower entry that conflicts with the leader', () => {
    const w = mountGrid();
    expect(w.find('[data-testid="log-cell-n2-3"]').attributes('data-conflict')).toBe('true');
    expect(w.find('[data-testid="log-cell-n1-3"]').attributes('data-conflict')).toBeUndefined();
  });

  it('says which entries of a recorded moment cannot be shown, and why, instead of loading them forever', () => {
    // n1 has nothing for indices 2 and 3 but a reason: 2 was not recorded, 3 compacted since.
    const absent = (nodeId: string, index: number) => (nodeId !== 'n1' ? undefined : index === 2 ? 'unrecorded' : index === 3 ? 'gone' : undefined);
    const partial = (nodeId: string, index: number) => (nodeId === 'n1' && index <= 3 ? undefined : lookup(nodeId, index));
    const w = mountGrid((i) => buildRow(i + 1, nodes, partial, 'n1', absent));
    expect(w.find('[data-testid="log-cell-n1-2"]').text()).toBe('not recorded');
    expect(w.find('[data-testid="log-cell-n1-3"]').text()).toBe('compacted since');
    expect(w.find('[data-testid="log-cell-n1-3"]').attributes('title')).toMatch(/compacted from the node's log since/);
    expect(w.find('[data-testid="log-cell-n2-2"]').attributes('data-term')).toBe('2');
  });

  it('reports visible rows and emits the clicked entry', async () => {
    const w = mountGrid();
    const [from, to] = w.emitted('visibleRows')![0] as [number, number];
    expect(from).toBe(0);
    expect(to).toBeGreaterThan(10);
    await w.find('[data-testid="log-cell-n2-3"]').trigger('click');
    expect(w.emitted('select')).toEqual([['n2', 3]]);
  });
});
