import { describe, expect, it } from 'vitest';
import { completePartition, describePartition, newNodeIdAmong, nextNodeId } from '../../../electron/services/cluster-driver.js';

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

describe('new node ids', () => {
  it('takes the first free nK', () => {
    expect(nextNodeId([])).toBe('n1');
    expect(nextNodeId(['n1', 'n3', 'x'])).toBe('n2');
  });

  it('keeps a requested id when it is free, and refuses one the cluster already has', () => {
    expect(newNodeIdAmong('c', ['n1'], 'db')).toBe('db');
    expect(newNodeIdAmong('c', ['n1'])).toBe('n2');
    expect(() => newNodeIdAmong('c', ['n1'], 'n1')).toThrow(expect.objectContaining({ code: 'conflict', message: 'c already has a node "n1"' }));
  });
});
