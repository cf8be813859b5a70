// The term timeline as the console derives it from what nodes report.
import { describe, expect, it } from 'vitest';
import { Timeline, type ObservedNode } from '../../../electron/services/timeline.js';

const members = { voters: ['n1', 'n2', 'n3'], votersOutgoing: [], learners: [] };
const n = (id: string, role: ObservedNode['role'], term: number, reachable = true): ObservedNode => ({ id, role, term, reachable });

describe('Timeline', () => {
  it('records a lost leader in its own term, and the next election without a leader', () => {
    let now = 0;
    const timeline = new Timeline(() => now);
    timeline.observe([n('n1', 'leader', 2), n('n2', 'follower', 2), n('n3', 'follower', 2)], members);
    now = 100;
    // n2 starts term 3 while n1 still thinks it leads term 2.
    timeline.observe([n('n1', 'leader', 2), n('n2', 'candidate', 3), n('n3', 'follower', 2)], members);
    now = 200;
    timeline.observe([n('n1', 'follower', 3), n('n2', 'leader', 3), n('n3', 'follower', 3)], members);
    expect(timeline.list().map(({ at, kind, term, leader, detail }) => [at, kind, term, leader, detail])).toEqual([
      [0, 'election-started', 2, '', 'term 2: n1 campaigning'],
      [0, 'leader-elected', 2, 'n1', 'n1 leads term 2'],
      [100, 'leader-lost', 2, '', 'n1 is no longer leader'],
      [100, 'election-started', 3, '', 'term 3: n2 campaigning'],
      [200, 'leader-elected', 3, 'n2', 'n2 leads term 3'],
    ]);
  });
});

describe('Timeline at the start', () => {
  it('does not call the term it first sees an election, nor the first configuration it reads a change', () => {
    let now = 0;
    const timeline = new Timeline(() => now);
    // A new cluster: term 1 from its bootstrap, no configuration applied yet.
    timeline.observe([n('n1', 'follower', 1), n('n2', 'follower', 1), n('n3', 'follower', 1)], { voters: [], votersOutgoing: [], learners: [] });
    now = 200;
    timeline.observe([n('n1', 'follower', 1), n('n2', 'follower', 1), n('n3', 'follower', 1)], members);
    now = 1200;
    timeline.observe([n('n1', 'candidate', 2), n('n2', 'follower', 1), n('n3', 'follower', 1)], members);
    now = 1300;
    timeline.observe([n('n1', 'leader', 2), n('n2', 'follower', 2), n('n3', 'follower', 2)], { ...members, learners: ['n4'] });
    expect(timeline.list().map(({ at, kind, detail }) => [at, kind, detail])).toEqual([
      [1200, 'election-started', 'term 2: n1 campaigning'],
      [1300, 'leader-elected', 'n1 leads term 2'],
      [1300, 'membership', 'voters n1, n2, n3; learners n4'],
    ]);
  });
});
