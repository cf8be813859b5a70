import { describe, expect, it } from 'vitest';
import type { MessageInFlight, NodeLogLine } from '../../../electron/shared/api';
import { readableError } from '../../../renderer/src/logic/errors';
import { nodeHealth } from '../../../renderer/src/logic/health';
import { recordLag } from '../../../renderer/src/logic/lagHistory';
import { classifyMessage, estimateSimNow, flightProgress, isResponse } from '../../../renderer/src/logic/messages';
import { narrate } from '../../../renderer/src/logic/narrative';
import { appendLines, downloadText, filterLines } from '../../../renderer/src/logic/nodeLogs';
import { cutOffFromLeader, majoritySide, partitionGroups } from '../../../renderer/src/logic/partition';
import { formatRoute, parseRoute } from '../../../renderer/src/logic/route';
import { shortcutFor } from '../../../renderer/src/logic/shortcuts';
import { termColor } from '../../../renderer/src/logic/termColors';
import { circleLayout, electionTimerFraction, links, trimSegment } from '../../../renderer/src/logic/topology';
import { makeNode, makeState } from '../fakeApi';

describe('messages', () => {
  it('classifies raft message types', () => {
    expect(['MsgVote', 'MsgPreVoteResp', 'MsgApp', 'MsgAppResp', 'MsgHeartbeat', 'MsgSnap', 'MsgProp'].map(classifyMessage)).toEqual([
      'vote',
      'vote',
      'append',
      'append',
      'heartbeat',
      'snapshot',
      'other',
    ]);
    // The embedded core's names.
    expect(['App', 'AppResp', 'PreVote', 'Heartbeat', 'HeartbeatResp', 'Snap', 'TimeoutNow'].map(classifyMessage)).toEqual([
      'append',
      'append',
      'vote',
      'heartbeat',
      'heartbeat',
      'snapshot',
      'other',
    ]);
    expect(isResponse('MsgAppResp')).toBe(true);
    expect(isResponse('PreVoteResp')).toBe(true);
    expect(isResponse('MsgApp')).toBe(false);
  });

  it('places a message along its path by simulated time', () => {
    const m: MessageInFlight = { id: 1, from: 'a', to: 'b', type: 'MsgApp', sentAt: 100, deliverAt: 200, summary: '' };
    expect([50, 150, 250].map((t) => flightProgress(m, t))).toEqual([0, 0.5, 1]);
  });

  it('extrapolates the simulated clock only while it runs, and not too far', () => {
    expect(estimateSimNow({ now: 1000, running: false, speed: 1 }, 0, 500)).toBe(1000);
    expect(estimateSimNow({ now: 1000, running: true, speed: 0.5 }, 0, 400)).toBe(1200);
    expect(estimateSimNow({ now: 1000, running: true, speed: 1 }, 0, 10_000, 1000)).toBe(2000);
  });
});

describe('topology', () => {
  it('puts nodes on a circle and cuts links across partition sides', () => {
    const at = circleLayout(['a', 'b', 'c', 'd'], 400, 400, 50);
    expect(at.a).toEqual({ x: 200, y: 50 });
    expect(Math.round(at.c.y)).toBe(350);
    expect(links(['a', 'b', 'c'], [['a'], ['b', 'c']])).toEqual([
      { a: 'a', b: 'b', cut: true },
      { a: 'a', b: 'c', cut: true },
      { a: 'b', b: 'c', cut: false },
    ]);
  });

  it('runs message paths from node edge to node edge', () => {
    expect(trimSegment({ x: 0, y: 0 }, { x: 100, y: 0 }, 10)).toEqual([
      { x: 10, y: 0 },
      { x: 90, y: 0 },
    ]);
    expect(trimSegment({ x: 0, y: 0 }, { x: 10, y: 0 }, 10)).toEqual([
      { x: 5, y: 0 },
      { x: 5, y: 0 },
    ]);
  });

  it('reports how much of the election timeout is used up', () => {
    expect(electionTimerFraction(3, 10)).toBe(0.3);
    expect(electionTimerFraction(12, 10)).toBe(1);
    expect(electionTimerFraction(undefined, 10)).toBeUndefined();
  });
});

describe('partition', () => {
  it('groups nodes by side and refuses a partition with one side', () => {
    expect(partitionGroups({ b: 1 }, ['a', 'b', 'c'])).toEqual({ ok: true, groups: [['a', 'c'], ['b']] });
    expect(partitionGroups({}, ['a', 'b']).ok).toBe(false);
  });

  it('finds the nodes a partition keeps from the leader', () => {
    expect([...cutOffFromLeader([['a', 'b'], ['c'], ['d']], 'a')]).toEqual(['c', 'd']);
    expect(cutOffFromLeader([['a', 'b'], ['c']], '').size).toBe(0);
    expect(cutOffFromLeader(undefined, 'a').size).toBe(0);
  });

  it('finds the side holding a majority of voters', () => {
    expect(majoritySide([['a', 'c'], ['b']], ['a', 'b', 'c'])).toBe(0);
    expect(majoritySide([['a'], ['b'], ['c']], ['a', 'b', 'c'])).toBeUndefined();
  });
});

describe('node log lines', () => {
  const line = (nodeId: string, time: number, level: NodeLogLine['level'], msg: string): NodeLogLine => ({
    clusterId: 'c',
    nodeId,
    time,
    level,
    msg,
    raw: JSON.stringify({ time, msg }),
  });

  it('merges lines from several nodes by time and caps the total', () => {
    const merged = appendLines([line('a', 1, 'info', 'x'), line('a', 5, 'info', 'y')], [line('b', 3, 'warn', 'z')], 2);
    expect(merged.map((l) => l.time)).toEqual([3, 5]);
  });

  it('filters by node, level and text', () => {
    const lines = [line('a', 1, 'info', 'became leader'), line('b', 2, 'warn', 'slow disk'), line('a', 3, 'debug', 'tick')];
    expect(filterLines(lines, { nodes: ['a'], levels: [], search: '' })).toHaveLength(2);
    expect(filterLines(lines, { nodes: [], levels: ['warn'], search: '' })[0].msg).toBe('slow disk');
    expect(filterLines(lines, { nodes: [], levels: [], search: 'LEADER' })[0].nodeId).toBe('a');
  });

  it('downloads the raw lines', () => {
    expect(downloadText([line('a', 1, 'info', 'x')])).toBe('{"time":1,"msg":"x"}\n');
  });
});

describe('routes, shortcuts, colors, errors', () => {
  it('round-trips the hash route', () => {
    expect(parseRoute(formatRoute({ view: 'log', clusterId: 'my cluster' }))).toEqual({ view: 'log', clusterId: 'my cluster' });
    expect(parseRoute('#/nowhere')).toBeNull();
  });

  it('maps keys to actions but never while typing', () => {
    const key = (k: string, extra = {}) => shortcutFor({ key: k, ctrlKey: false, metaKey: false, altKey: false, ...extra });
    expect(key('3')).toEqual({ kind: 'go', view: 'log' });
    expect(key(' ')).toEqual({ kind: 'toggleClock' });
    expect(key('3', { targetTag: 'INPUT' })).toBeUndefined();
    expect(key('3', { ctrlKey: true })).toBeUndefined();
  });

  it('gives neighbouring terms different colors, stable across calls', () => {
    expect(termColor(3, false)).toEqual(termColor(3, false));
    expect(termColor(3, false).background).not.toBe(termColor(4, false).background);
    expect(termColor(3, true).background).not.toBe(termColor(3, false).background);
  });

  it('turns errors into one readable line', () => {
    expect(readableError(new Error("Error invoking remote method 'console:invoke': ApiError: cluster x not found"))).toBe('cluster x not found');
    const withStack = new Error('disk full');
    expect(readableError(withStack)).toBe('disk full');
    expect(readableError({ code: 'refused', message: 'no quorum\n    at foo (bar.js:1:1)' })).toBe('no quorum');
    expect(readableError(42)).toBe('Something went wrong.');
  });
});

describe('health, lag, narrative', () => {
  it('names node health', () => {
    expect(nodeHealth(makeNode({ id: 'a', process: 'killed' }), null).level).toBe('error');
    expect(nodeHealth(makeNode({ id: 'a' }), 500).text).toBe('500 entries behind the leader');
    expect(nodeHealth(makeNode({ id: 'a' }), 0).text).toBe('up to date');
    expect(nodeHealth(makeNode({ id: 'a' }), 1).text).toBe('catching up (1 behind)');
    expect(nodeHealth(makeNode({ id: 'a' }), null).text).toBe('no leader to compare with');
    // A node the partition cuts off has stale values: its lag is not catching up.
    expect(nodeHealth(makeNode({ id: 'a' }), 10, true)).toEqual({ level: 'warning', text: 'cut off from the leader by the partition' });
    expect(nodeHealth(makeNode({ id: 'a', process: 'killed' }), null, true).text).toBe('killed');
  });

  it('samples lag per node once per moment, bounded, with unknown lag as a gap', () => {
    const leader = (lastIndex: number) => makeNode({ id: 'n1', role: 'leader', lastIndex });
    const s1 = makeState({ at: 1, nodes: [leader(8), makeNode({ id: 'a', lastIndex: 4 })] });
    const s2 = makeState({ at: 2, nodes: [leader(8), makeNode({ id: 'a', lastIndex: 7 })] });
    let h = recordLag({}, s1, 2);
    h = recordLag(h, s1, 2);
    h = recordLag(h, s2, 2);
    h = recordLag(h, makeState({ at: 3, nodes: [leader(8), makeNode({ id: 'a', lastIndex: 8, process: 'paused', reachable: false })] }), 2);
    expect(h.a).toEqual([
      { at: 2, lag: 1 },
      { at: 3, lag: null },
    ]);
  });

  it('tells who leads and what is committed, or that there is no leader', () => {
    const leader = makeNode({ id: 'n1', role: 'leader', commitIndex: 7, lastIndex: 7 });
    const story = narrate(makeState({ nodes: [leader, makeNode({ id: 'n2', lastIndex: 5 }), makeNode({ id: 'n3', lastIndex: 6 })] }));
    expect(story[0]).toContain('n1 is the leader of term 2');
    expect(story[1]).toContain('up to index 7 are committed');
    // 3 voters up, majority 2: one more may fail.
    expect(story[1]).toContain('if 1 more voter fails');
    // Lag = the leader's last index − the node's: 7 − 5 and 7 − 6.
    expect(story).toContain('n2 is 2 entries behind the leader; replication catches it up.');
    expect(story).toContain('n3 is 1 entry behind the leader; replication catches it up.');
    const noLeader = narrate(makeState({ leader: '', nodes: [makeNode({ id: 'n1', role: 'candidate', term: 5 }), makeNode({ id: 'n2' })] }));
    expect(noLeader[0]).toContain('n1 is asking for votes in term 5');
    // A leader that has lost its majority (n2, n3 down) is not told to accept writes.
    const down = { process: 'killed' as const, reachable: false, role: 'unknown' as const };
    const stranded = narrate(makeState({ nodes: [makeNode({ id: 'n1', role: 'leader' }), makeNode({ id: 'n2', ...down }), makeNode({ id: 'n3', ...down })] }));
    expect(stranded[0]).toBe('n1 still leads term 2, but without a majority it cannot commit anything: it steps down once it sees it has not heard from a majority for an election timeout (CheckQuorum).');
    expect(stranded).toContain('Only 1 of 3 voters are up; a leader needs 2. Nothing can be committed until enough of them return.');
  });
});
