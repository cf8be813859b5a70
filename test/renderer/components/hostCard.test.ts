// @vitest-environment happy-dom
// A host card's buttons follow the key question: "Review host key" for an unknown key, "Replace host
// key…" for a changed one, each once. (Inside naive-ui's NSpace, both changing in one render left
// three "Replace" buttons, seen in Chromium on the lab.)
import { mount } from '@vue/test-utils';
import { nextTick } from 'vue';
import { afterEach, expect, it } from 'vitest';
import type { HostListItem } from '../../../electron/shared/api';
import HostCard from '../../../renderer/src/components/HostCard.vue';
import type { KeyQuestion } from '../../../renderer/src/stores/hosts';

afterEach(() => {
  document.body.innerHTML = '';
});

const host: HostListItem = {
  id: 'host-1',
  name: 'db-1',
  address: '198.51.100.7',
  port: 22,
  user: 'ops',
  auth: { kind: 'key', keyFile: '/keys/id_ed25519' },
  jumpHostId: null,
  groups: [],
  hasSecret: false,
  createdAt: 0,
  updatedAt: 0,
  state: 'connected',
};

function question(kind: KeyQuestion['kind']): KeyQuestion {
  return {
    hostId: host.id,
    hostName: host.name,
    kind,
    hostKey: { host: host.address, port: 22, keyType: 'ssh-ed25519', fingerprint: 'SHA256:new', key: 'AAAA' },
    known: kind === 'changed' ? [{ fingerprint: 'SHA256:old', file: 'known_hosts', line: 1 }] : [],
  } as KeyQuestion;
}

const count = (id: string) => document.querySelectorAll(`[data-testid="${id}-${host.id}"]`).length;
/** The .vue shim types no props: setProps takes them as a plain record (as dashboard.test.ts does). */
const ask = (w: { setProps(p: Record<string, unknown>): Promise<void> }, q: KeyQuestion | null) => w.setProps({ question: q });
const buttons = () => ({ review: count('host-review-key'), replace: count('host-replace-key'), test: count('host-test-button'), edit: count('host-edit') });

it('shows each key button once as the question goes from none to unknown to changed and back', async () => {
  const w = mount(HostCard, { props: { host, nodes: [], question: null, testing: false }, attachTo: document.body });
  expect(buttons()).toEqual({ review: 0, replace: 0, test: 1, edit: 1 });
  await ask(w, question('unknown'));
  await nextTick();
  expect(buttons()).toEqual({ review: 1, replace: 0, test: 1, edit: 1 });
  await ask(w, question('changed'));
  await nextTick();
  expect(buttons()).toEqual({ review: 0, replace: 1, test: 1, edit: 1 });
  await ask(w, question('unknown'));
  await nextTick();
  expect(buttons()).toEqual({ review: 1, replace: 0, test: 1, edit: 1 });
  await ask(w, null);
  await nextTick();
  expect(buttons()).toEqual({ review: 0, replace: 0, test: 1, edit: 1 });
  w.unmount();
});
