// @vitest-environment happy-dom
// Cancelling a guided add from the Membership view: the Cancel button is there exactly while the
// backend's progress says the add can be cancelled, sends operation.cancel, is disabled while the
// backend undoes the add, and afterwards the view says what was undone and lets the user start again.
import { mount } from '@vue/test-utils';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, type OperationProgress } from '../../../electron/shared/api';
import { useNavigationStore } from '../../../renderer/src/stores/navigation';
import MembershipView from '../../../renderer/src/views/MembershipView.vue';
import { apiWithCluster, flush, giveElementsASize, makeNode, makeState, setupStores, type FakeApi } from '../fakeApi';

let undoSize: () => void;
beforeAll(() => (undoSize = giveElementsASize()));
afterAll(() => undoSize());
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
  document.body.innerHTML = '';
});

const byTestId = (id: string) => document.querySelector<HTMLElement>(`[data-testid="${id}"]`);

const progress = (over: Partial<OperationProgress>): OperationProgress => ({
  operationId: 'op-add',
  clusterId: 'demo',
  title: 'Add n4',
  step: 'starting the new node',
  fraction: 0,
  done: false,
  ...over,
});

async function mountView(cancel: () => { cancelled: boolean }) {
  const nodes = ['n1', 'n2', 'n3'].map((id, i) => makeNode({ id, kind: 'local', role: i === 0 ? 'leader' : 'follower' }));
  const api: FakeApi = apiWithCluster(makeState({ kind: 'local', nodes }))
    .handle('membership.addNode', () => ({ operationId: 'op-add', nodeId: 'n4' }))
    .handle('operation.cancel', cancel);
  const pinia = setupStores(api);
  useNavigationStore().go('membership', 'demo');
  const w = mount(MembershipView, { global: { plugins: [pinia] }, attachTo: document.body });
  cleanups.push(() => w.unmount());
  await flush(10);
  byTestId('membership-add-learner')!.click();
  await flush(10);
  expect(api.callsOf('membership.addNode')).toHaveLength(1);
  return api;
}

describe('cancelling a guided add', () => {
  it('offers Cancel while the backend says the add can be cancelled, sends it, and then says what was undone', async () => {
    const api = await mountView(() => ({ cancelled: true }));
    // Started, but no progress yet: the backend has not said it can be cancelled.
    expect(byTestId('membership-add-cancel')).toBeNull();

    api.emit('operation.progress', progress({ cancellable: true }));
    await flush();
    const button = byTestId('membership-add-cancel')!;
    expect(button.textContent).toContain('Cancel adding n4');
    expect(button.hasAttribute('disabled')).toBe(false);

    button.click();
    await flush(10);
    expect(api.callsOf('operation.cancel')).toEqual([{ operationId: 'op-add' }]);
    expect(byTestId('membership-add-cancel')?.hasAttribute('disabled')).toBe(true);
    expect(byTestId('membership-add-cancel')?.textContent).toContain('Cancelling');
    // A second click while cancelling asks nothing more.
    byTestId('membership-add-cancel')!.click();
    await flush(10);
    expect(api.callsOf('operation.cancel')).toHaveLength(1);

    api.emit('operation.progress', progress({ cancellable: true, step: 'cancelling: stopping and removing n4', fraction: null }));
    await flush();
    expect(byTestId('membership-add-cancel')?.hasAttribute('disabled')).toBe(true);

    const undone = 'cancelled: n4 was stopped and removed; the configuration is as before';
    api.emit('operation.progress', progress({ cancellable: true, cancelled: true, done: true, fraction: null, error: undone, step: 'cancelling: stopping and removing n4' }));
    await flush(10);
    expect(byTestId('membership-add-cancel')).toBeNull();
    expect(byTestId('membership-add-cancelled')?.textContent).toContain(undone);
    // Back at the start: the user can add again.
    expect(byTestId('membership-add')?.dataset.stage).toBe('plan');
    expect(byTestId('membership-add-learner')).not.toBeNull();
  });

  it('hides Cancel once the backend no longer offers it (the promotion was proposed), and a refused cancel leaves the add running', async () => {
    const api = await mountView(() => {
      throw new ApiError('refused', '"Add n4" can no longer be cancelled: the promotion of n4 to voter has been proposed');
    });
    api.emit('operation.progress', progress({ cancellable: true, step: 'waiting for the learner to catch up', fraction: 0.3 }));
    await flush();
    byTestId('membership-add-cancel')!.click();
    await flush(10);
    expect(api.callsOf('operation.cancel')).toEqual([{ operationId: 'op-add' }]);
    // Refused: nothing is being cancelled, so the button is not stuck in "Cancelling".
    expect(byTestId('membership-add-cancel')?.hasAttribute('disabled')).toBe(false);

    api.emit('operation.progress', progress({ step: 'promoting n4 to voter; cancel is no longer possible', fraction: 0.7 }));
    await flush();
    expect(byTestId('membership-add-cancel')).toBeNull();
    expect(byTestId('membership-add-cancelled')).toBeNull();
  });
});
