// @vitest-environment happy-dom
import { mount } from '@vue/test-utils';
import { describe, expect, it } from 'vitest';
import KvForm from '../../../renderer/src/components/KvForm.vue';
import NodeCard from '../../../renderer/src/components/NodeCard.vue';
import TopologyDiagram from '../../../renderer/src/components/TopologyDiagram.vue';
import { makeNode } from '../fakeApi';

describe('NodeCard', () => {
  it('shows role, membership, indexes and lag', () => {
    const node = makeNode({ id: 'n2', role: 'follower', membership: 'learner', term: 5, commitIndex: 40, appliedIndex: 39, lastIndex: 41, snapshotIndex: 10 });
    const w = mount(NodeCard, { props: { node, isLeader: false, cutOff: false, lag: 7, lagHistory: [], dark: false, now: 2000 } });
    expect(w.find('[data-testid="node-role-n2"]').text()).toBe('follower');
    expect(w.find('[data-testid="node-membership-n2"]').text()).toBe('learner');
    expect(w.find('[data-testid="node-commit-n2"]').text()).toBe('40');
    expect(w.find('[data-testid="node-snapshot-n2"]').text()).toBe('10');
    expect(w.find('[data-testid="node-lag-n2"]').text()).toBe('7 behind');
    expect(w.find('[data-testid="node-health-n2"]').text()).toBe('catching up (7 behind)');
  });

  it('says when values are only the last known ones', () => {
    const node = makeNode({ id: 'n3', reachable: false, lastSeen: 1000, error: 'connection refused' });
    const w = mount(NodeCard, { props: { node, isLeader: false, cutOff: false, lag: null, lagHistory: [], dark: true, now: 31_000 } });
    expect(w.text()).toContain('last seen 30 s ago');
    // Nobody can say how far behind an unreachable node is.
    expect(w.find('[data-testid="node-lag-n3"]').text()).toBe('unknown');
    expect(w.find('[data-testid="node-health-n3"]').text()).toBe('unreachable: connection refused');
  });
});

describe('TopologyDiagram', () => {
  const nodes = [
    makeNode({ id: 'n1', role: 'leader', electionElapsed: 0, electionTimeout: 10 }),
    makeNode({ id: 'n2', electionElapsed: 5, electionTimeout: 10 }),
    makeNode({ id: 'n3', process: 'killed', electionElapsed: 2, electionTimeout: 10 }),
  ];

  it('marks the leader, runs down follower timers and moves messages', async () => {
    const w = mount(TopologyDiagram, {
      props: {
        nodes,
        leader: 'n1',
        messages: [{ id: 9, from: 'n1', to: 'n2', type: 'MsgHeartbeat', sentAt: 0, deliverAt: 100, summary: 'commit 3' }],
        partitions: undefined,
        now: 50,
        showTimers: true,
      },
    });
    expect(w.find('[data-testid="topology-node-n1"]').text()).toContain('★ leader');
    expect(w.find('[data-testid="election-timer-n1"]').exists()).toBe(false);
    expect(w.find('[data-testid="election-timer-n3"]').exists()).toBe(false);
    const ring = w.find('[data-testid="election-timer-n2"]');
    const [left, total] = ring.attributes('stroke-dasharray')!.split(' ').map(Number);
    expect(left / total).toBeCloseTo(0.5);
    const message = w.find('[data-testid="message-9"]');
    const before = Number(message.attributes('cx'));
    await w.setProps({ now: 90 } as Record<string, unknown>);
    expect(Number(w.find('[data-testid="message-9"]').attributes('cx'))).not.toBe(before);
    // A click picks the message for a closer look (and a drop from there), it does not drop it at once.
    await message.trigger('click');
    expect(w.emitted('selectMessage')).toEqual([[9]]);
    await w.find('[data-testid="topology-node-n2"]').trigger('click');
    expect(w.emitted('selectNode')).toEqual([['n2']]);
    await w.setProps({ selected: { kind: 'node', id: 'n2' } } as Record<string, unknown>);
    expect(w.find('[data-testid="topology-node-n2"]').classes()).toContain('selected');
  });

  it('shows the message legend only where messages are drawn', () => {
    const w = mount(TopologyDiagram, { props: { nodes, leader: 'n1', messages: [], partitions: undefined, now: 0, showTimers: false, showMessages: false } });
    expect(w.find('[data-testid="legend-vote"]').exists()).toBe(false);
    const embedded = mount(TopologyDiagram, { props: { nodes, leader: 'n1', messages: [], partitions: undefined, now: 0, showTimers: true, showMessages: true } });
    expect(embedded.find('[data-testid="legend-vote"]').exists()).toBe(true);
  });

  it('draws links a partition cuts', () => {
    const w = mount(TopologyDiagram, { props: { nodes, leader: 'n1', messages: [], partitions: [['n1'], ['n2', 'n3']], now: 0, showTimers: false } });
    expect(w.find('[data-testid="link-cut-n1-n2"]').exists()).toBe(true);
    expect(w.find('[data-testid="link-cut-n2-n3"]').exists()).toBe(false);
    expect(w.find('[data-testid="election-timer-n2"]').exists()).toBe(false);
  });
});

describe('KvForm', () => {
  it('sends on Enter in the value box and adds a line on Shift+Enter, saying so', async () => {
    const props = { op: 'put' as const, keyName: 'k', value: 'v', casFrom: '', casFromAbsent: false, stale: false, problem: null, submitting: false };
    const w = mount(KvForm, { props });
    const box = w.find('[data-testid="kv-value"] textarea');
    await box.trigger('keydown', { key: 'Enter', shiftKey: true });
    expect(w.emitted('submit')).toBeUndefined();
    await box.trigger('keydown', { key: 'Enter' });
    expect(w.emitted('submit')).toHaveLength(1);
    expect(w.find('[data-testid="kv-value-hint"]').text()).toBe('Enter sends · Shift+Enter adds a line');
  });
});

describe('NodeCard of a node that is down', () => {
  it('shows its last known values marked as such, aged on the cluster clock', () => {
    // Simulated clock: last seen at 1 500 ms, now 4 500 ms.
    const node = makeNode({ id: 'n3', process: 'crashed', reachable: false, role: 'unknown', term: 4, commitIndex: 17, lastSeen: 1500, error: 'crashed' });
    const w = mount(NodeCard, { props: { node, isLeader: false, cutOff: false, lag: null, lagHistory: [], dark: false, now: 4500 } });
    expect(w.find('[data-testid="node-term-n3"]').text()).toBe('4');
    expect(w.find('[data-testid="node-commit-n3"]').text()).toBe('17');
    expect(w.find('[data-testid="node-stale-n3"]').text()).toBe('last known');
    expect(w.find('[data-testid="node-last-seen-n3"]').text()).toBe('last seen 3 s ago; values above are the last known.');
  });

  it('says nothing is known of a node never reached', () => {
    const node = makeNode({ id: 'n4', process: 'starting', reachable: false, lastSeen: 0 });
    const w = mount(NodeCard, { props: { node, isLeader: false, cutOff: false, lag: null, lagHistory: [], dark: false, now: 4500 } });
    expect(w.find('[data-testid="node-stale-n4"]').exists()).toBe(false);
    expect(w.find('[data-testid="node-last-seen-n4"]').text()).toBe('not reached yet: nothing known of it.');
  });
});
