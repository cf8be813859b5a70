import { describe, expect, it } from 'vitest';
import { membersFrom, membershipOf, mostAuthoritative } from '../../../electron/services/cluster-view.js';

describe('cluster view', () => {
  it('trusts the leader, else the highest term, then the most committed', () => {
    const follower = { id: 'a', role: 'follower' as const, term: 5, commitIndex: 9 };
    const staleLeader = { id: 'b', role: 'leader' as const, term: 3, commitIndex: 4 };
    const candidate = { id: 'c', role: 'candidate' as const, term: 5, commitIndex: 7 };
    expect(mostAuthoritative([follower, staleLeader, candidate])?.id).toBe('b');
    expect(mostAuthoritative([candidate, follower])?.id).toBe('a');
    expect(mostAuthoritative([])).toBeUndefined();
  });

  it('takes the reported configuration, or every defined node as a voter when nobody reports one', () => {
    const reported = { voters: ['a'], votersOutgoing: ['b'], learners: ['c'], addresses: {} };
    expect(membersFrom(reported, ['x'])).toEqual({ voters: ['a'], votersOutgoing: ['b'], learners: ['c'] });
    expect(membersFrom(undefined, ['x', 'y'])).toEqual({ voters: ['x', 'y'], votersOutgoing: [], learners: [] });
  });

  it('counts a voter of either half of a joint configuration as a voter', () => {
    const members = { voters: ['a'], votersOutgoing: ['b'], learners: ['c'] };
    expect(['a', 'b', 'c', 'd'].map((id) => membershipOf(members, id))).toEqual(['voter', 'voter', 'learner', 'none']);
  });
});
