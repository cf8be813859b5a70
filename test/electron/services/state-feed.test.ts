import { describe, expect, it } from 'vitest';
import type { NodeProcessInfo as ProcessInfo } from '../../../electron/services/node-host.js';
import type { StatusView } from '../../../core/service/wire.js';
import { partitionsFromDrops, RaftdFeed } from '../../../electron/services/state-feed.js';

const status = (id: string, droppedPeers: string[]) => ({ id, droppedPeers }) as unknown as StatusView;

describe('partitions reported by the nodes', () => {
  const ids = ['a', 'b', 'c', 'd', 'e'];

  it('are none when no node drops traffic', () => {
    expect(partitionsFromDrops([status('a', []), status('b', [])], ids)).toEqual([]);
  });

  it('group each node with everyone it does not drop', () => {
    const statuses = [status('a', ['c', 'd', 'e']), status('b', ['c', 'd', 'e']), status('c', ['a', 'b']), status('d', ['a', 'b'])];
    expect(partitionsFromDrops(statuses, ids)).toEqual([
      ['a', 'b'],
      ['c', 'd', 'e'],
    ]);
  });

  it('put nodes nobody groups (unreachable ones) together', () => {
    expect(partitionsFromDrops([status('a', ['b', 'c', 'd', 'e'])], ids)).toEqual([['a'], ['b', 'c', 'd', 'e']]);
  });
});

describe('the raftd feed without answering nodes', () => {
  it('shows a down process as unreachable with its reason, and an unanswering remote node as unknown', async () => {
    const processes: Record<string, ProcessInfo | null> = {
      a: { state: 'paused', pid: 11 },
      b: { state: 'crashed', detail: 'raftd exited with code 1: bad flag' },
      c: null,
    };
    const feed = new RaftdFeed(
      {
        clusterId: 'x',
        name: 'X',
        kind: 'local',
        capabilities: { nodeActions: ['start', 'stop'], simulatedClock: false, dropMessages: false, electionTimers: false, stopAll: true },
        members: () => [
          { id: 'a', kind: 'local', client: '127.0.0.1:1' },
          { id: 'b', kind: 'local', client: '127.0.0.1:1' },
          { id: 'c', kind: 'remote', client: '127.0.0.1:1' },
        ],
        processInfo: (id) => processes[id],
        partitions: () => [],
      },
      () => undefined,
      { pollMs: 60_000 },
    );
    try {
      const state = await feed.refresh();
      const byId = Object.fromEntries(state.nodes.map((n) => [n.id, n]));
      expect(byId.a).toMatchObject({ process: 'paused', reachable: false, role: 'unknown', error: 'paused (SIGSTOP)', membership: 'voter' });
      // Nobody answers, so nobody's lag is known (not a number).
      expect(state.facts.lag).toEqual({ a: null, b: null, c: null });
      expect(byId.b).toMatchObject({ process: 'crashed', reachable: false, role: 'unknown', error: 'raftd exited with code 1: bad flag' });
      expect(byId.c).toMatchObject({ process: 'unknown', reachable: false, role: 'unknown' });
      expect(byId.c.error).toMatch(/127\.0\.0\.1:1 is not reachable/);
      // Nobody answered: the defined nodes stand in for the configuration, and there is no leader.
      expect(state.members).toEqual({ voters: ['a', 'b', 'c'], votersOutgoing: [], learners: [] });
      expect(state.leader).toBe('');

      // A process the driver rechecks (after stopping it) is shown down at once, without waiting for a poll.
      processes.c = { state: 'stopped' };
      await feed.recheck('c');
      expect(feed.state().nodes.find((n) => n.id === 'c')).toMatchObject({ process: 'stopped', reachable: false });
    } finally {
      feed.close();
    }
  });
});
