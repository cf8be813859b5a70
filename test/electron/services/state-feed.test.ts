import { describe, expect, it } from 'vitest';
import type { RaftdStatus } from '../../../electron/services/raftd-client.js';
import { partitionsFromDrops } from '../../../electron/services/state-feed.js';

const status = (id: string, droppedPeers: string[]) => ({ id, droppedPeers }) as unknown as RaftdStatus;

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
