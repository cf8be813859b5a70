// @vitest-environment happy-dom
import { mount } from '@vue/test-utils';
import { describe, expect, it } from 'vitest';
import ClusterListItem from '../../../renderer/src/components/ClusterListItem.vue';
import { makeCluster } from '../fakeApi';

describe('ClusterListItem', () => {
  it('offers Stop only where the cluster\'s driver says it stops as a whole, whatever its kind', () => {
    const stop = (cluster: ReturnType<typeof makeCluster>) => mount(ClusterListItem, { props: { cluster, current: false } }).find(`[data-testid="cluster-stop-${cluster.id}"]`).exists();
    const embedded = makeCluster({ id: 'e', kind: 'embedded' });
    const local = makeCluster({ id: 'l', kind: 'local', nodes: [] });
    expect(stop(embedded)).toBe(false);
    expect(stop(local)).toBe(true);
    // The capability decides, not the kind: a cluster without it (not runnable here) gets no Stop.
    expect(stop({ ...local, capabilities: undefined })).toBe(false);
    expect(stop({ ...embedded, capabilities: { ...embedded.capabilities!, stopAll: true } })).toBe(true);
  });

  it('marks a replay as such, with where its trace comes from, and offers no Start', () => {
    const capabilities = { nodeActions: [], simulatedClock: false, dropMessages: false, electionTimers: false, stopAll: false };
    const replay = makeCluster({ id: 'replay-demo', kind: 'local', health: 'stopped', capabilities, replay: { from: 1000, to: 2000, sourceId: 'demo', importedAt: 3000 } });
    const w = mount(ClusterListItem, { props: { cluster: replay, current: false } });
    expect(w.find('[data-testid="cluster-replay-replay-demo"]').text()).toBe('replay');
    expect(w.text()).toContain('a trace of demo');
    expect(w.findAll('button').map((b) => b.text())).not.toContain('Start');
  });
});
