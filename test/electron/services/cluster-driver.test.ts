import { describe, expect, it } from 'vitest';
import { completePartition, describePartition } from '../../../electron/services/cluster-driver.js';

describe('partition requests', () => {
  const ids = ['n1', 'n2', 'n3', 'n4'];

  it('adds one group of every node not listed', () => {
    expect(completePartition('c', ids, [['n1'], ['n2']])).toEqual([['n1'], ['n2'], ['n3', 'n4']]);
    expect(completePartition('c', ids, [['n1', 'n2'], ['n3', 'n4']])).toEqual([['n1', 'n2'], ['n3', 'n4']]);
  });

  it('refuses names that are not nodes of the cluster, and nodes listed twice', () => {
    expect(() => completePartition('c', ids, [['n1'], ['n9']])).toThrow(expect.objectContaining({ code: 'invalid-input', message: 'not nodes of c: n9' }));
    expect(() => completePartition('c', ids, [['n1', 'n2'], ['n2']])).toThrow(expect.objectContaining({ code: 'invalid-input', message: 'a node can be in one group only: n2' }));
  });

  it('describes the groups as the timeline shows them', () => {
    expect(describePartition([['n1', 'n2'], ['n3']])).toBe('{n1, n2} | {n3}');
  });
});
