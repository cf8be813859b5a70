import { describe, expect, it } from 'vitest';
import type { TimelineEvent } from '../../../electron/shared/api';
import { buildTimeline, mergeEvents } from '../../../renderer/src/logic/timeline';

const ev = (at: number, kind: TimelineEvent['kind'], term: number, leader = '', detail = ''): TimelineEvent => ({ at, kind, term, leader, detail });

describe('buildTimeline', () => {
  const events = [
    ev(100, 'election-started', 1),
    ev(110, 'leader-elected', 1, 'n1'),
    ev(200, 'fault', 1, 'n1', 'killed n1'),
    ev(210, 'leader-lost', 1),
    ev(300, 'election-started', 2),
    ev(400, 'election-started', 3),
    ev(410, 'leader-elected', 3, 'n2'),
    ev(500, 'membership', 3, 'n2', 'added n4'),
    ev(600, 'election-started', 4),
  ];
  const t = buildTimeline(events, 700);

  it('draws the term as steps up to now', () => {
    expect(t.termSteps).toEqual([
      [100, 1],
      [300, 2],
      [400, 3],
      [600, 4],
      [700, 4],
    ]);
  });

  it('marks each election with its outcome', () => {
    expect(t.elections.map((e) => [e.term, e.outcome, e.leader])).toEqual([
      [1, 'won', 'n1'],
      [2, 'failed', undefined],
      [3, 'won', 'n2'],
      [4, 'pending', undefined],
    ]);
  });

  it('records who led when, closing a reign at the leader loss', () => {
    expect(t.leaders).toEqual([
      { from: 110, to: 210, term: 1, leader: 'n1' },
      { from: 410, to: 700, term: 3, leader: 'n2' },
    ]);
  });

  it('keeps membership changes and faults as markers', () => {
    expect(t.markers).toEqual([
      { at: 200, kind: 'fault', label: 'killed n1' },
      { at: 500, kind: 'membership', label: 'added n4' },
    ]);
  });

  it('is empty but anchored at now without events', () => {
    expect(buildTimeline([], 50)).toMatchObject({ termSteps: [], elections: [], start: 50, end: 50 });
  });
});

describe('mergeEvents', () => {
  it('drops duplicates, sorts, and keeps the newest', () => {
    const a = [ev(1, 'election-started', 1), ev(2, 'leader-elected', 1, 'n1')];
    const merged = mergeEvents(a, [ev(2, 'leader-elected', 1, 'n1'), ev(0, 'fault', 0, '', 'x'), ev(3, 'leader-lost', 1)], 3);
    expect(merged.map((e) => e.at)).toEqual([1, 2, 3]);
  });
});

describe('timelineChartOption', () => {
  it('draws leaders as bands, elections as points by outcome and markers as icons with their words', async () => {
    const { timelineChartOption } = await import('../../../renderer/src/logic/charts');
    const t = buildTimeline(
      [ev(100, 'election-started', 1), ev(110, 'leader-elected', 1, 'n1'), ev(150, 'membership', 1, 'n1', 'voters n1, n2, n3, n4'), ev(200, 'election-started', 2)],
      300,
    );
    const option = timelineChartOption(t, false) as { series: Array<{ name: string; data: unknown[]; markArea?: { data: unknown[][] }; markLine?: { data: Array<{ name: string; label: { formatter: string } }> } }> };
    const [term, won, failed, running] = option.series;
    expect(term.markArea?.data).toHaveLength(1);
    expect(term.markLine?.data.map((d) => [d.label.formatter, d.name])).toEqual([['⚙', 'membership: voters n1, n2, n3, n4']]);
    expect([won.data.length, failed.data.length, running.data.length]).toEqual([1, 0, 1]);
  });

  it('draws axes, grid and zoom bar in colors readable on the dark background', async () => {
    const { timelineChartOption } = await import('../../../renderer/src/logic/charts');
    const t = buildTimeline([ev(100, 'election-started', 1), ev(110, 'leader-elected', 1, 'n1')], 300);
    type Axis = { axisLabel: { color: string }; splitLine: { lineStyle: { color: string } } };
    const option = (dark: boolean) => timelineChartOption(t, dark) as { xAxis: Axis; yAxis: Axis; dataZoom: Array<{ textStyle?: { color: string } }> };
    const [light, dark] = [option(false), option(true)];
    expect(dark.xAxis.axisLabel.color).toBe('#aaa');
    expect(dark.yAxis.axisLabel.color).toBe('#aaa');
    expect(dark.yAxis.splitLine.lineStyle.color).toBe('rgba(255, 255, 255, 0.1)');
    expect(dark.dataZoom[1].textStyle?.color).toBe('#aaa');
    expect(light.xAxis.axisLabel.color).toBe('#666');
  });
});
