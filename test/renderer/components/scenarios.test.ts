// @vitest-environment happy-dom
// The Scenarios view shows what the backend plays: the catalog, then the open scenario's steps,
// narration and checks, with Next step and Restart asking the backend.
import { mount } from '@vue/test-utils';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ScenarioView } from '../../../electron/shared/api';
import { useNavigationStore } from '../../../renderer/src/stores/navigation';
import ScenariosView from '../../../renderer/src/views/ScenariosView.vue';
import { useConnectionStore } from '../../../renderer/src/stores/connection';
import { apiWithCluster, fakeConnection, flush, giveElementsASize, makeCluster, makeState, setupStores } from '../fakeApi';

let undoSize: () => void;
beforeAll(() => (undoSize = giveElementsASize()));
afterAll(() => undoSize());
afterEach(() => {
  document.body.innerHTML = '';
});

const byTestId = (id: string) => document.querySelector<HTMLElement>(`[data-testid="${id}"]`);

function view(played: number): ScenarioView {
  const titles = ['First', 'Second'];
  return {
    scenarioId: 'split-vote',
    title: 'Split vote',
    summary: 'Two candidates split the votes.',
    seed: 42,
    played,
    finished: played === titles.length,
    steps: titles.map((title, i) => ({
      title,
      watch: `${title}: the votes crossing.`,
      status: i < played ? 'done' : i === played ? 'next' : 'later',
      ...(i < played && { narration: `${title} happened: n2 and n3 split the votes.`, checks: [{ label: 'no server leads', ok: true }] }),
    })),
  };
}

describe('scenarios view', () => {
  it('lists the scenarios, starts one on its own cluster, and shows each step the backend played', async () => {
    const scenarioCluster = makeCluster({ id: 'scenario-split-vote', name: 'Scenario: Split vote', scenario: 'split-vote' });
    const api = apiWithCluster(makeState(), [makeCluster({ id: 'demo' })])
      .handle('scenarios.list', () => [{ id: 'split-vote', title: 'Split vote', summary: 'Two candidates split the votes.', steps: 2, nodes: 5 }])
      .handle('scenarios.start', () => {
        api.emit('clusters.changed', [makeCluster({ id: 'demo' }), scenarioCluster]);
        return { clusterId: scenarioCluster.id, view: view(0) };
      })
      .handle('scenarios.next', () => view(1))
      .handle('cluster.state', (p) => makeState({ clusterId: p.clusterId, leader: '' }));
    const pinia = setupStores(api);
    useNavigationStore().go('scenarios', 'demo');
    const w = mount(ScenariosView, { global: { plugins: [pinia] }, attachTo: document.body });
    await flush(8);

    expect(byTestId('scenario-split-vote')?.textContent).toContain('Two candidates split the votes.');
    byTestId('scenario-start-split-vote')!.click();
    await flush(8);
    expect(api.callsOf('scenarios.start')).toEqual([{ scenarioId: 'split-vote' }]);
    expect(useNavigationStore().clusterId).toBe('scenario-split-vote');
    expect(byTestId('scenario-title')?.textContent).toBe('Split vote');
    expect(byTestId('scenario-summary')?.textContent).toContain('Press “Next step” to play “First”');
    expect(byTestId('scenario-step-0')?.dataset.status).toBe('next');
    expect(byTestId('scenario-watch')?.textContent).toBe('Watch: First: the votes crossing.');

    byTestId('scenario-next')!.click();
    await flush(8);
    expect(api.callsOf('scenarios.next')).toEqual([{ clusterId: 'scenario-split-vote' }]);
    expect(byTestId('scenario-now')?.textContent).toContain('First happened: n2 and n3 split the votes.');
    expect(byTestId('scenario-now')?.textContent).toContain('Next: “Second”');
    expect(byTestId('scenario-step-0')?.dataset.status).toBe('done');
    expect(byTestId('scenario-check')?.textContent).toContain('✓no server leads');

    // Restart: the same scenario and seed.
    byTestId('scenario-restart')!.click();
    await flush(8);
    expect(api.callsOf('scenarios.start').at(-1)).toEqual({ scenarioId: 'split-vote', seed: 42 });
    w.unmount();
  });

  it('reads the run again after a reconnect (a restarted console reopens scenarios at their first step)', async () => {
    let played = 1;
    const api = apiWithCluster(makeState({ clusterId: 'scenario-split-vote' }), [makeCluster({ id: 'scenario-split-vote', scenario: 'split-vote' })])
      .handle('scenarios.list', () => [])
      .handle('scenarios.state', () => view(played));
    const pinia = setupStores(api);
    useNavigationStore().go('scenarios', 'scenario-split-vote');
    const w = mount(ScenariosView, { global: { plugins: [pinia] }, attachTo: document.body });
    await flush(10);
    expect(byTestId('scenario-step-0')?.dataset.status).toBe('done');
    played = 0;
    useConnectionStore().attach(fakeConnection(api));
    await flush(10);
    expect(byTestId('scenario-step-0')?.dataset.status).toBe('next');
    w.unmount();
  });

  it('marks a step whose checks failed', async () => {
    const failed: ScenarioView = { ...view(1), steps: view(1).steps.map((s, i) => (i === 0 ? { ...s, checks: [{ label: 'n2 leads (expected "n2", got "n3")', ok: false }] } : s)) };
    const api = apiWithCluster(makeState({ clusterId: 'scenario-split-vote' }), [makeCluster({ id: 'scenario-split-vote', scenario: 'split-vote' })])
      .handle('scenarios.list', () => [])
      .handle('scenarios.state', () => failed);
    const pinia = setupStores(api);
    useNavigationStore().go('scenarios', 'scenario-split-vote');
    const w = mount(ScenariosView, { global: { plugins: [pinia] }, attachTo: document.body });
    await flush(10);
    expect(byTestId('scenario-step-0')?.textContent).toContain('did not go as told');
    expect(byTestId('scenario-check')?.textContent).toContain('✗n2 leads (expected "n2", got "n3")');
    w.unmount();
  });
});
