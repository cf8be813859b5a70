import { describe, expect, it } from 'vitest';
import { nodeView, type NodeObservation } from '../../../electron/services/node-view.js';

const members = { voters: ['a', 'b'], votersOutgoing: [], learners: ['c'] };
const leaderStatus = { role: 'leader' as const, term: 4, vote: 'a', leader: 'a', commitIndex: 9, appliedIndex: 9, lastIndex: 10, firstIndex: 3, snapshotIndex: 2 };
const all = ['start', 'stop', 'kill', 'pause', 'resume', 'restart', 'forceNewCluster'] as const;
const leader = { lastIndex: 10, progress: { b: { match: 7 }, c: { match: 10 } } };

describe('a node as the console shows it', () => {
  it('is what the node reported, with its place in the configuration and its replication measured at the leader', () => {
    const o: NodeObservation = { id: 'b', kind: 'local', process: 'running', reachable: true, lastSeen: 5, status: { ...leaderStatus, role: 'follower', lastIndex: 8 }, logTail: [] };
    expect(nodeView(o, members, leader, all)).toEqual({
      id: 'b', kind: 'local', process: 'running', reachable: true, lastSeen: 5, role: 'follower', membership: 'voter',
      term: 4, vote: 'a', leader: 'a', commitIndex: 9, appliedIndex: 9, lastIndex: 8, firstIndex: 3, snapshotIndex: 2,
      matchIndex: 7, logTail: [], actions: ['kill', 'pause', 'restart', 'stop', 'forceNewCluster'],
    });
  });

  it('never shows a node that does not answer as leading, whatever it last reported', () => {
    const o: NodeObservation = { id: 'a', kind: 'local', process: 'killed', reachable: false, lastSeen: 5, error: 'killed', status: leaderStatus, logTail: [] };
    expect(nodeView(o, members, undefined, all)).toMatchObject({ role: 'unknown', term: 4, error: 'killed' });
  });

  it('has empty indexes before any report, the first index after the snapshot when none is reported, and the embedded election timer when there is one', () => {
    const silent = nodeView({ id: 'x', kind: 'embedded', process: 'crashed', reachable: false, lastSeen: 0, logTail: [] }, members, leader, all);
    expect(silent).toMatchObject({ role: 'unknown', membership: 'none', term: 0, lastIndex: 0, firstIndex: 1 });
    expect(silent).not.toHaveProperty('electionElapsed');
    const { firstIndex: _omitted, ...noFirst } = leaderStatus;
    const timed = nodeView({ id: 'c', kind: 'embedded', process: 'running', reachable: true, lastSeen: 1, status: { ...noFirst, electionElapsed: 3, randomizedElectionTimeout: 14 }, logTail: [] }, members, leader, all);
    expect(timed).toMatchObject({ membership: 'learner', firstIndex: 3, electionElapsed: 3, electionTimeout: 14, matchIndex: 10 });
  });
});

describe('the actions a node offers', () => {
  it('are those its process state allows, of those its cluster can do', () => {
    const o: NodeObservation = { id: 'a', kind: 'embedded', process: 'running', reachable: true, lastSeen: 1, logTail: [] };
    expect(nodeView(o, members, undefined, ['start', 'stop', 'kill', 'restart']).actions).toEqual(['kill', 'restart', 'stop']);
    expect(nodeView({ ...o, process: 'paused' }, members, undefined, all).actions).toEqual(['resume', 'kill', 'forceNewCluster']);
    expect(nodeView({ ...o, process: 'killed' }, members, undefined, all).actions).toEqual(['start', 'forceNewCluster']);
    expect(nodeView({ ...o, process: 'starting' }, members, undefined, ['start', 'kill']).actions).toEqual(['kill']);
    expect(nodeView({ ...o, process: 'unknown' }, members, undefined, all).actions).toEqual(['restart', 'kill', 'forceNewCluster']);
  });
});
