// echarts options built from plain data, so the chart components only render.
import type { EChartsCoreOption } from 'echarts/core';
import { formatClock } from './format';
import type { LagSample } from './lagHistory';
import { formatTimelineTime, type BuiltTimeline } from './timeline';
import { termColor } from './termColors';

export function lagChartOption(samples: readonly LagSample[], dark: boolean): EChartsCoreOption {
  return {
    animation: false,
    grid: { left: 2, right: 2, top: 4, bottom: 2 },
    xAxis: { type: 'time', show: false },
    yAxis: { type: 'value', show: false, min: 0, minInterval: 1 },
    tooltip: {
      trigger: 'axis',
      valueFormatter: (v: unknown) => `${String(v)} entries behind`,
    },
    series: [
      {
        type: 'line',
        showSymbol: false,
        data: samples.map((s) => [s.at, s.lag]),
        lineStyle: { width: 1.5, color: dark ? '#f2c97d' : '#d08a12' },
        areaStyle: { opacity: 0.2, color: dark ? '#f2c97d' : '#d08a12' },
      },
    ],
  };
}

const outcomeColors = { won: '#18a058', failed: '#d03050', pending: '#f0a020' } as const;

/** Axis, grid and zoom-bar colors readable on the theme's background (echarts' defaults suit only light). */
function chartChrome(dark: boolean) {
  return dark
    ? { text: '#ddd', muted: '#aaa', line: 'rgba(255, 255, 255, 0.35)', grid: 'rgba(255, 255, 255, 0.1)', zoomFill: 'rgba(99, 226, 183, 0.2)' }
    : { text: '#333', muted: '#666', line: '#999', grid: '#e6e6e6', zoomFill: 'rgba(24, 160, 88, 0.15)' };
}

export function timelineChartOption(t: BuiltTimeline, dark: boolean): EChartsCoreOption {
  const { text, muted, line, grid, zoomFill } = chartChrome(dark);
  const when = (at: number) => formatTimelineTime(at, t.base);
  // Simulated milliseconds are a plain number line ("+0:05.0"); wall-clock ones a time axis (local time).
  const xAxis =
    t.base === 'simulated'
      ? // Ticks no closer than the labels' tenth of a second, so no two read the same.
        { type: 'value', min: t.start, max: t.end, minInterval: 100, axisLabel: { color: muted, formatter: (v: number) => when(v) } }
      : { type: 'time', min: t.start, max: t.end, axisLabel: { color: muted, formatter: (v: number) => formatClock(v).slice(0, 8) } };
  const axis = {
    axisLabel: { color: muted },
    axisLine: { lineStyle: { color: line } },
    splitLine: { lineStyle: { color: grid } },
    nameTextStyle: { color: muted },
  };
  return {
    animation: false,
    textStyle: { color: text },
    grid: { left: 48, right: 24, top: 36, bottom: 56 },
    legend: { top: 0, textStyle: { color: text }, data: ['term', 'election won', 'election failed', 'election running'] },
    tooltip: { trigger: 'item' },
    dataZoom: [
      { type: 'inside' },
      {
        type: 'slider',
        height: 18,
        bottom: 8,
        borderColor: line,
        fillerColor: zoomFill,
        textStyle: { color: muted },
        dataBackground: { lineStyle: { color: line }, areaStyle: { color: grid } },
      },
    ],
    xAxis: { ...axis, ...xAxis },
    yAxis: { type: 'value', name: 'term', minInterval: 1, min: 0, ...axis },
    series: [
      {
        name: 'term',
        type: 'line',
        step: 'end',
        showSymbol: false,
        data: t.termSteps,
        lineStyle: { width: 2 },
        markArea: {
          silent: false,
          label: { show: true, position: 'insideTop', color: text, fontSize: 11 },
          data: t.leaders.map((l) => [
            { xAxis: l.from, name: `${l.leader} leads (term ${l.term})`, itemStyle: { color: termColor(l.term, dark).background, opacity: 0.45 } },
            { xAxis: l.to },
          ]),
        },
        // Markers can sit close together: an icon on the line, the words in its tooltip and in the event list.
        markLine: {
          symbol: 'none',
          tooltip: { formatter: (p: { name: string; value: number }) => `${when(p.value)}<br/>${p.name}` },
          data: t.markers.map((m) => ({
            xAxis: m.at,
            name: m.kind === 'membership' ? `membership: ${m.label}` : `fault: ${m.label}`,
            label: { formatter: m.kind === 'membership' ? '⚙' : '⚡', color: text, fontSize: 13 },
            lineStyle: { color: m.kind === 'membership' ? '#8b5cf6' : '#d03050', type: 'dashed' },
          })),
        },
      },
      ...(['won', 'failed', 'pending'] as const).map((outcome) => ({
        name: outcome === 'won' ? 'election won' : outcome === 'failed' ? 'election failed' : 'election running',
        type: 'scatter',
        symbol: outcome === 'won' ? 'circle' : outcome === 'failed' ? 'triangle' : 'diamond',
        symbolSize: 11,
        itemStyle: { color: outcomeColors[outcome] },
        tooltip: { formatter: (p: { name: string; value: [number, number] }) => `${when(p.value[0])}<br/>${p.name}` },

        data: t.elections.filter((e) => e.outcome === outcome).map((e) => ({ value: [e.at, e.term], name: e.label })),
      })),
    ],
  };
}
