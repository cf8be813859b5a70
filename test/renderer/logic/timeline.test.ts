import { describe, expect, it } from 'vitest';
import type { TimelineEvent } from '../../../electron/shared/api';
import { formatClock, formatElapsed } from '../../../renderer/src/logic/format';
import { buildTimeline, formatTimelineTime, mergeEvents, timeBaseOf } from '../../../renderer/src/logic/timeline';
import { useNavigationStore } from '../../../renderer/src/stores/navigation';
import { useTimelineStore } from '../../../renderer/src/stores/timeline';
import { apiWithCluster, flush, makeState, setupStores } from '../fakeApi';

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

describe('one time base for the embedded timeline', () => {
  it('writes simulated time as time elapsed', () => {
    // 80 400 ms = 1 min 20.4 s.
    expect(formatElapsed(80_400)).toBe('+1:20.4');
    expect(formatElapsed(0)).toBe('+0:00.0');
    expect(formatElapsed(3_723_000)).toBe('+1:02:03.0');
    expect(formatTimelineTime(80_400, 'simulated')).toBe('+1:20.4');
  });

  it('ends the axis at the simulated now, not at the wall clock, and labels ticks as elapsed time', async () => {
    const { timelineChartOption } = await import('../../../renderer/src/logic/charts');
    const wallNow = Date.UTC(2026, 11, 5, 14, 0, 0);
    const events = [ev(150, 'election-started', 1), ev(300, 'leader-elected', 1, 'n1'), ev(60_000, 'election-started', 2), ev(60_200, 'leader-elected', 2, 'n2')];
    const api = apiWithCluster(makeState({ at: wallNow, clock: { now: 80_400, running: true, speed: 1 }, timeline: events }));
    setupStores(api);
    useNavigationStore().go('timeline', 'demo');
    const timeline = useTimelineStore();
    await flush();
    const built = timeline.built;

    expect([built.start, built.end, built.base]).toEqual([150, 80_400, 'simulated']);
    const option = timelineChartOption(built, false) as { xAxis: { type: string; min: number; max: number; axisLabel: { formatter: (v: number) => string } } };
    expect(option.xAxis).toMatchObject({ type: 'value', min: 150, max: 80_400 });
    // Term 2 starts three quarters of the way along the axis, not in its first pixel.
    expect((60_000 - option.xAxis.min) / (option.xAxis.max - option.xAxis.min)).toBeGreaterThan(0.7);
    expect(option.xAxis.axisLabel.formatter(20_000)).toBe('+0:20.0');
    // Labels show tenths of a second: ticks closer than that would repeat a label.
    expect((option.xAxis as unknown as { minInterval: number }).minInterval).toBe(100);
  });

  it('keeps wall-clock time for clusters without a simulated clock', () => {
    const t = buildTimeline([ev(Date.UTC(2026, 0, 1, 10), 'election-started', 1)], Date.UTC(2026, 0, 1, 11), timeBaseOf(makeState({ kind: 'local' })));
    expect(t.base).toBe('wall');
    expect(formatTimelineTime(t.end, t.base)).toBe(formatClock(Date.UTC(2026, 0, 1, 11)));
  });
});
