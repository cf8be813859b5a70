// @vitest-environment happy-dom
// Rows of buttons whose v-if children change together show each button once. (naive-ui's NSpace repeats
// children when two of its conditional children flip in one render: a host card once showed three
// "Replace host key…" buttons. Isolating a node flips Isolate off and Heal on at once.)
import { mount } from '@vue/test-utils';
import { nextTick } from 'vue';
import { afterEach, expect, it } from 'vitest';
import TopologySelection from '../../../renderer/src/components/TopologySelection.vue';
import { makeNode } from '../fakeApi';

afterEach(() => {
  document.body.innerHTML = '';
});

const count = (id: string) => document.querySelectorAll(`[data-testid="${id}"]`).length;

it("the topology's node actions: Isolate, Heal and Make it the leader each show once as isolating flips them together", async () => {
  const node = makeNode({ id: 'n2' });
  const base = { node, message: undefined, messageGone: false, actions: [], canDrop: false, timeBase: 'wall' };
  const w = mount(TopologySelection, { props: { ...base, canIsolate: true, partitioned: false, canLead: true }, attachTo: document.body });
  const buttons = () => ({ isolate: count('topology-isolate-n2'), heal: count('topology-heal'), lead: count('topology-lead-n2') });
  expect(buttons()).toEqual({ isolate: 1, heal: 0, lead: 1 });
  const set = (p: Record<string, unknown>) => (w as unknown as { setProps(p: Record<string, unknown>): Promise<void> }).setProps(p);
  await set({ canIsolate: false, partitioned: true, canLead: false });
  await nextTick();
  expect(buttons()).toEqual({ isolate: 0, heal: 1, lead: 0 });
  await set({ canIsolate: true, partitioned: false, canLead: true });
  await nextTick();
  expect(buttons()).toEqual({ isolate: 1, heal: 0, lead: 1 });
  await set({ canIsolate: false, partitioned: true, canLead: true });
  await nextTick();
  expect(buttons()).toEqual({ isolate: 0, heal: 1, lead: 1 });
  await set({ canIsolate: true, partitioned: false, canLead: false });
  await nextTick();
  expect(buttons()).toEqual({ isolate: 1, heal: 0, lead: 0 });
});
