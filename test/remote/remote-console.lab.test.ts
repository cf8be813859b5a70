// End to end against the lab (issue 13 item 6): the built console in web mode and Debian's Chromium,
// both inside rc-op with the lab's hosts (real sshd in network namespaces), driven as a user would:
// three hosts added and their keys compared and trusted, a wrong password, a 3-node remote cluster
// created from the Clusters view, a key written and found in every node's log, the leader killed,
// a host's link cut and healed, a changed host key refused, and a fourth node on the host without
// Node. The API (over the page's WebSocket) serves only setup checks and clean-up. Screenshots of
// the remote screens, light and dark, land with the others in test-results/console-e2e/.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { e2eUnavailable, openConsoleInBrowser, SHOTS, type WebMode } from '../e2e/webMode';
import { hostByIndex, linkDown, linkUp, regenerateHostKey, requireLab, restoreHostKey, type LabHost } from './lab';

const lab = requireLab();
const [h1, h2, h3, h4] = [1, 2, 3, 4].map((i) => hostByIndex(lab, i));
const unavailable = e2eUnavailable();
if (unavailable) console.warn(`[e2e] remote console end-to-end tests skipped: ${unavailable}`);

const LONG = 90_000;
/** The command the key dialog names for an ed25519 host key (OpenSSH's file name for it). */
const ED25519_COMMAND = 'ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub';

describe.skipIf(unavailable !== null)('remote clusters in the console, end to end on the lab hosts (web mode, Chromium)', () => {
  let web: WebMode;
  let browser: Browser;
  let page: Page;
  /** Host profile ids by lab host name, as the console created them. */
  const profileId: Record<string, string> = {};
  let clusterId = '';
  let hostKeyChanged = false;
  /** Where the key written in the KV console sits in the log. */
  let greetingIndex = 0;

  const tid = (id: string, within: Page | Locator = page) => within.locator(`[data-testid="${id}"]`);
  const text = async (id: string, within: Page | Locator = page) => (await tid(id, within).innerText()).trim();
  const leaderCount = () => page.locator('[data-testid^="node-role-"]', { hasText: /^leader$/ }).count();
  const go = async (view: string) => {
    await tid(`nav-${view}`).click();
    await tid(`view-${view}`).waitFor();
  };
  const card = (host: LabHost) => tid(`host-card-${profileId[host.name]}`);
  /** The theme follows the OS ("Auto"), so either can be shown with a dialog open (the header is behind its mask). */
  const theme = async (scheme: 'light' | 'dark') => {
    await page.emulateMedia({ colorScheme: scheme });
    await expect.poll(() => tid('app').getAttribute('data-theme')).toBe(scheme);
  };
  /** A screenshot in each theme, light as `name`, dark as `name-dark`; leaves the light theme on. */
  const shots = async (name: string) => {
    for (const [scheme, suffix] of [['dark', '-dark'], ['light', '']] as const) {
      await theme(scheme);
      await page.screenshot({ path: join(SHOTS, `${name}${suffix}.png`), fullPage: true, animations: 'disabled' });
    }
  };
  // The page's requests and their answers, seen on its WebSocket: "the test finished" without guessing from a spinner.
  const asked = new Map<number, string>();
  const waiting: { method: string; resolve: () => void }[] = [];
  /** Resolves when the page gets the answer to its next request of `method` (register before the click that sends it). */
  const answered = (method: string) => new Promise<void>((resolve) => waiting.push({ method, resolve }));
  const frame = (payload: string | Buffer): { id?: unknown; method?: unknown } => {
    try {
      return JSON.parse(String(payload)) as { id?: unknown; method?: unknown };
    } catch {
      return {};
    }
  };
  const watchSocket = (p: Page) =>
    p.on('websocket', (ws) => {
      ws.on('framesent', ({ payload }) => {
        const { id, method } = frame(payload);
        if (typeof id === 'number' && typeof method === 'string') asked.set(id, method);
      });
      ws.on('framereceived', ({ payload }) => {
        const { id } = frame(payload);
        const method = typeof id === 'number' ? asked.get(id) : undefined;
        if (method === undefined) return;
        asked.delete(id as number);
        const i = waiting.findIndex((w) => w.method === method);
        if (i >= 0) waiting.splice(i, 1)[0].resolve();
      });
    });
  /** Lines of a host's sshd log about logins of its user (VERBOSE logs every accepted or failed attempt). */
  const loginLines = (host: LabHost) =>
    readFileSync(host.sshdLog, 'utf8')
      .split('\n')
      .filter((line) => /(Accepted|Failed|Postponed) \S+ for /.test(line) && line.includes(` for ${host.user} `));

  beforeAll(async () => {
    ({ web, browser, page } = await openConsoleInBrowser((p) => watchSocket(p)));
    await tid('app').waitFor({ timeout: LONG });
    await page.emulateMedia({ colorScheme: 'light' });
    await tid('theme-choice').getByText('Auto').click();
  }, 240_000);

  afterAll(async () => {
    for (const host of [h1, h2, h3]) linkUp(host);
    await browser?.close();
    // Deletes the clusters it created: their raftd processes on the lab hosts stop and their files go.
    await web?.stop();
    if (hostKeyChanged) await restoreHostKey(h4);
    console.log(`[e2e] screenshots: ${SHOTS}`);
  }, 180_000);

  /** Fills the Hosts view's form as a user would and saves it; returns the profile id the console gave it. */
  async function addHost(host: LabHost, auth: { keyFile: string; passphrase?: string } | { password: string }) {
    await tid('host-add').click();
    await tid('host-form').waitFor();
    await tid('host-form-name').locator('input').fill(host.name);
    await tid('host-form-address').locator('input').fill(host.address);
    await tid('host-form-user').locator('input').fill(host.user);
    if ('password' in auth) {
      await tid('host-form-auth-password').click();
      await tid('host-form-secret').locator('input').fill(auth.password);
    } else {
      await tid('host-form-auth-key').click();
      await tid('host-form-key-file').locator('input').fill(auth.keyFile);
      if (auth.passphrase) await tid('host-form-secret').locator('input').fill(auth.passphrase);
    }
    await tid('host-form-save').click();
    await tid('host-form').waitFor({ state: 'hidden' });
    const profile = (await web.api.invoke('hosts.list', {})).hosts.find((h) => h.name === host.name);
    expect(profile).toMatchObject({ address: host.address, port: 22, user: host.user });
    profileId[host.name] = profile!.id;
    await card(host).waitFor();
  }

  /** "Test connection" on a host never seen: the key dialog, compared with the host's own fingerprint; nothing sent until accepted. */
  async function compareAndTrustKey(host: LabHost, screenshot?: string) {
    const before = loginLines(host).length;
    await tid(`host-test-button-${profileId[host.name]}`).click();
    await tid('host-key-dialog').waitFor();
    expect(await text('host-key-host')).toBe(`${host.address}:22`);
    expect(await text('host-key-type')).toBe('ssh-ed25519');
    // What `ssh-keygen -lf` prints on the host itself for its key.
    expect(await text('host-key-fingerprint')).toBe(host.hostKeyFingerprint);
    expect(await text('host-key-command')).toBe(ED25519_COMMAND);
    if (screenshot) await shots(screenshot);
    // No login was tried: the host's sshd saw no key and no password from the console.
    expect(loginLines(host).length).toBe(before);
    await tid('host-key-accept').click();
    await tid('host-key-dialog').waitFor({ state: 'hidden' });
    await expect.poll(() => text(`host-state-${profileId[host.name]}`), { timeout: LONG }).toBe('connected');
  }

  /** Runs "Test connection" and returns each step's outcome as the host card shows it. */
  async function testConnection(host: LabHost): Promise<Record<string, string>> {
    const id = profileId[host.name];
    const done = answered('hosts.test');
    await tid(`host-test-button-${id}`).click();
    await done;
    const report = tid(`host-test-${id}`, card(host));
    await report.waitFor({ timeout: LONG });
    const steps: Record<string, string> = {};
    for (const step of ['tcp', 'host-key', 'auth', 'node', 'os', 'disk']) steps[step] = (await tid(`host-test-step-${step}`, card(host)).getAttribute('data-status')) ?? '';
    return steps;
  }

  const allOk = { tcp: 'ok', 'host-key': 'ok', auth: 'ok', node: 'ok', os: 'ok', disk: 'ok' };

  it('adds three hosts in the Hosts view and trusts each key after comparing its fingerprint; each test then passes every step', async () => {
    await go('hosts');
    await addHost(h1, { keyFile: lab.clientKey });
    await compareAndTrustKey(h1, 'remote-host-key-unknown');
    await addHost(h2, { keyFile: lab.encryptedKey, passphrase: lab.encryptedKeyPassphrase });
    await compareAndTrustKey(h2);
    await addHost(h3, { password: h3.password! });
    await compareAndTrustKey(h3);
    for (const host of [h1, h2, h3]) {
      expect(await testConnection(host)).toEqual(allOk);
      // OS, architecture and Node version once known (every lab host but rc-h4 has Node).
      expect(await text(`host-facts-${profileId[host.name]}`)).toMatch(/^Linux \/ \S+ · Node v\d+\.\d+\.\d+ · /);
    }
    await shots('remote-hosts');
  }, 3 * LONG);

  it('shows a wrong password as such: the login step fails with the host refusing the password, after TCP and the host key passed', async () => {
    const id = profileId[h3.name];
    await tid(`host-edit-${id}`).click();
    await tid('host-form').waitFor();
    await tid('host-form-secret').locator('input').fill('not the password');
    await tid('host-form-save').click();
    await tid('host-form').waitFor({ state: 'hidden' });
    const failedAt = loginLines(h3).length;
    expect(await testConnection(h3)).toEqual({ tcp: 'ok', 'host-key': 'ok', auth: 'failed', node: 'skipped', os: 'skipped', disk: 'skipped' });
    expect(await tid('host-test-step-auth', card(h3)).innerText()).toContain(`${h3.user}@${h3.address} refused the password`);
    // The host saw exactly that: a failed password login.
    expect(loginLines(h3).slice(failedAt).some((line) => line.includes('Failed password'))).toBe(true);
    await shots('remote-host-wrong-password');

    await tid(`host-edit-${id}`).click();
    await tid('host-form').waitFor();
    await tid('host-form-secret').locator('input').fill(h3.password!);
    await tid('host-form-save').click();
    await tid('host-form').waitFor({ state: 'hidden' });
    expect(await testConnection(h3)).toEqual(allOk);
  }, 2 * LONG);

  it('creates a 3-node remote cluster on rc-h1..rc-h3 from the Clusters view: the plan per host, deploy progress, then a leader', async () => {
    const hosts = [h1, h2, h3];
    const openPlan = async () => {
      await go('clusters');
      await tid('create-cluster').click();
      await tid('wizard-kind-remote').click();
      await tid('wizard-next').click();
      await tid('wizard-name').locator('input').fill('lab-remote');
      for (const host of hosts) {
        const count = tid(`remote-host-count-${profileId[host.name]}`).locator('input');
        await count.fill('1');
        await count.blur();
      }
      await expect.poll(() => text('wizard-size-advice')).toContain('majority 2 of 3');
      await tid('wizard-next').click();
    };
    await openPlan();
    // The backend's plan: nothing deployed yet, so each host runs raftd on its own Node and gets the bundle;
    // node i's peer port on the i-th host's address, its client port on that host's loopback, its files in the user's home.
    for (const [i, host] of hosts.entries()) {
      const upload = tid(`remote-plan-upload-${profileId[host.name]}`);
      await upload.waitFor({ timeout: LONG });
      expect(await upload.innerText()).toMatch(/runs on the host's Node .*raftd uploads /s);
      const node = `n${i + 1}`;
      expect(await text(`remote-plan-peer-${node}`)).toMatch(new RegExp(`^${host.address.replace(/\./g, '\\.')}:\\d+$`));
      expect(await text(`remote-plan-client-${node}`)).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(await text(`remote-plan-data-${node}`)).toMatch(new RegExp(`^${host.home}/.*/${node}/data$`));
      expect(await text(`remote-plan-log-${node}`)).toMatch(new RegExp(`^${host.home}/.*/${node}/logs/raftd\\.log$`));
    }
    expect(await text('remote-plan-total')).toMatch(/^In all: .+ to upload\.$/);
    await shots('remote-cluster-plan');

    // The deploy, node by node (connect, upload, start, joined, leader elected), then the new cluster opens.
    await tid('wizard-create').click();
    for (const node of ['n1', 'n2', 'n3']) await tid(`remote-deploy-node-${node}`).waitFor({ timeout: LONG });
    await shots('remote-deploy-progress');
    await tid('view-dashboard').waitFor({ timeout: 2 * LONG });
    await page.getByText('Cluster “lab-remote” created with 3 nodes on 3 hosts.').waitFor();
    const cluster = (await web.api.invoke('clusters.list', {})).find((c) => c.name === 'lab-remote');
    expect(cluster?.kind).toBe('remote');
    clusterId = cluster!.id;
    expect(cluster!.nodes.map((n) => n.host)).toEqual(hosts.map((h) => profileId[h.name]));
    await expect.poll(leaderCount, { timeout: LONG }).toBe(1);
    expect(await text('header-leader')).toMatch(/^n[123]$/);
    for (const node of ['n1', 'n2', 'n3']) expect(await text(`node-process-${node}`)).toBe('remote · running');
    await shots('remote-dashboard');

    // Every node shows where it runs: its host, its peer address on that host, and a raftctl command.
    await go('clusters');
    const clusterCard = tid(`cluster-card-${clusterId}`);
    for (const [i, host] of hosts.entries()) {
      const location = await text(`node-location-n${i + 1}`, clusterCard);
      expect(location).toContain(host.name);
      expect(location).toContain(`${host.address}:`);
      expect(await text(`node-raftctl-n${i + 1}`, clusterCard)).toContain(`${host.user}@${host.address}`);
    }
    await go('hosts');
    for (const [i, host] of hosts.entries()) expect(await text(`host-nodes-${profileId[host.name]}`)).toContain(`lab-remote / n${i + 1}`);
  }, 4 * LONG);

  it('writes a key in the KV console and finds it in every node’s log', async () => {
    expect(clusterId).not.toBe('');
    await go('dashboard');
    await go('kv');
    await tid('kv-key').locator('input').fill('greeting');
    await tid('kv-value').locator('textarea').fill('hello from the lab');
    await tid('kv-submit').click();
    const committed = await tid('kv-committed-at').first().innerText({ timeout: LONG });
    const index = Number(/index (\d+)/.exec(committed)?.[1]);
    expect(index).toBeGreaterThan(0);
    greetingIndex = index;

    await go('log');
    await tid('log-jump-input').locator('input').fill(String(index));
    await tid('log-jump').click();
    for (const node of ['n1', 'n2', 'n3']) {
      await expect.poll(async () => (await tid(`log-cell-${node}-${index}`).count()) && tid(`log-cell-${node}-${index}`).innerText(), { timeout: LONG }).toContain('greeting');
    }
    await shots('remote-log-inspector');
  }, 2 * LONG);

  it('kills the leader’s process on its host from the Faults view and sees a new leader in a higher term', async () => {
    expect(clusterId).not.toBe('');
    await go('faults');
    const oldLeader = await text('header-leader');
    const oldTerm = Number(await text('header-term'));
    expect(oldLeader).toMatch(/^n[123]$/);
    await tid('fault-kill-leader').click();
    await page.locator('.n-popconfirm__action button:visible', { hasText: 'Kill' }).click();
    await expect.poll(() => text(`fault-process-${oldLeader}`), { timeout: LONG }).toBe('killed');
    await expect.poll(() => text('header-leader'), { timeout: LONG }).not.toMatch(new RegExp(`^(${oldLeader}|none)$`));
    expect(Number(await text('header-term'))).toBeGreaterThan(oldTerm);
    await shots('remote-faults-leader-killed');

    // Started again, the old leader rejoins as a follower.
    await tid(`fault-start-${oldLeader}`).click();
    await expect.poll(() => text(`fault-process-${oldLeader}`), { timeout: LONG }).toBe('running');
    await expect.poll(() => text(`fault-role-${oldLeader}`), { timeout: LONG }).toBe('follower');
  }, 3 * LONG);

  it('cuts a follower’s host link: its node shows as unknown (host unreachable), never as crashed, and the view recovers when the link returns', async () => {
    expect(clusterId).not.toBe('');
    await go('dashboard');
    await expect.poll(leaderCount, { timeout: LONG }).toBe(1);
    const leader = await text('header-leader');
    // Node i runs on the i-th host (the plan above); cut the host of a node that does not lead.
    const i = ['n1', 'n2', 'n3'].findIndex((n) => n !== leader);
    const [node, host] = [`n${i + 1}`, [h1, h2, h3][i]];
    linkDown(host);
    try {
      await expect.poll(() => text(`node-health-${node}`), { timeout: 2 * LONG }).toBe('unknown (host unreachable)');
      expect(await text(`node-process-${node}`)).toBe('remote · unknown (host unreachable)');
      expect(await leaderCount()).toBe(1);
      await shots('remote-dashboard-host-unreachable');
      await go('faults');
      expect(await text(`fault-process-${node}`)).toBe('unknown (host unreachable)');
      await go('hosts');
      await expect.poll(() => text(`host-state-${profileId[host.name]}`), { timeout: LONG }).toMatch(/^(reconnecting|unreachable)$/);
      await tid(`host-error-${profileId[host.name]}`).waitFor();
      await shots('remote-hosts-link-down');
    } finally {
      linkUp(host);
    }
    await expect.poll(() => text(`host-state-${profileId[host.name]}`), { timeout: 2 * LONG }).toBe('connected');
    await go('dashboard');
    await expect.poll(() => text(`node-process-${node}`), { timeout: 2 * LONG }).toBe('remote · running');
    await expect.poll(() => text(`node-role-${node}`), { timeout: LONG }).toMatch(/^(follower|leader)$/);
    await expect.poll(leaderCount, { timeout: LONG }).toBe(1);
  }, 5 * LONG);

  it('refuses a changed host key: a red warning with the old and new fingerprints and no way to accept it there; replacing it is a separate, deliberate step', async () => {
    await go('hosts');
    await addHost(h4, { keyFile: lab.clientKey });
    await compareAndTrustKey(h4);
    const id = profileId[h4.name];

    hostKeyChanged = true;
    const newFingerprint = await regenerateHostKey(h4);
    expect(newFingerprint).not.toBe(h4.hostKeyFingerprint);
    const before = loginLines(h4).length;
    const steps = await testConnection(h4);
    expect(steps).toMatchObject({ tcp: 'ok', 'host-key': 'failed', auth: 'skipped' });
    const warning = tid(`host-key-changed-${id}`);
    await warning.waitFor();
    expect(await text('host-key-new', warning)).toBe(newFingerprint);
    expect(await text('host-key-old', warning)).toBe(h4.hostKeyFingerprint);
    // No one-click accept: no trust dialog opens, and the card offers no "Review host key".
    expect(await tid('host-key-dialog').isVisible()).toBe(false);
    expect(await tid(`host-review-key-${id}`).count()).toBe(0);
    expect(loginLines(h4).length).toBe(before);
    await warning.scrollIntoViewIfNeeded();
    await shots('remote-host-key-changed');

    // The deliberate replacement: its own dialog, enabled only once the user says they compared it.
    await tid(`host-replace-key-${id}`).click();
    await tid('host-key-replace-dialog').waitFor();
    expect(await tid('host-key-replace-confirm').isDisabled()).toBe(true);
    await shots('remote-host-key-replace');
    await tid('host-key-replace-compared').click();
    await tid('host-key-replace-confirm').click();
    await tid('host-key-replace-dialog').waitFor({ state: 'hidden' });
    await expect.poll(() => text(`host-state-${id}`), { timeout: LONG }).toBe('connected');
    expect(await testConnection(h4)).toMatchObject({ tcp: 'ok', 'host-key': 'ok', auth: 'ok' });
  }, 3 * LONG);

  it('adds a fourth node on rc-h4, the host without Node, through the Membership wizard: learner, caught up, voter; it holds the key written before', async () => {
    expect(clusterId).not.toBe('');
    const h4Id = profileId[h4.name];
    await go('dashboard');
    await go('membership');
    await tid('membership-tab-add').click();
    await tid('membership-new-node-id').locator('input').fill('n4');
    await tid('membership-new-node-host').click();
    await page.locator('.n-base-select-option', { hasText: `${h4.name} (` }).click();
    expect(await text('membership-new-node-where')).toContain(`deploys raftd to ${h4.name}`);
    await shots('remote-membership-add-host');

    // rc-h4 has no Node: the add is refused before anything changes, saying why.
    await tid('membership-add-learner').click();
    const refusal = tid('notice-error').filter({ hasText: 'raftd needs Node >= 20' });
    await refusal.waitFor({ timeout: LONG });
    expect(await refusal.innerText()).toContain(`${h4.user}@${h4.address}`);
    expect((await web.api.invoke('cluster.state', { clusterId })).nodes.map((n) => n.id)).toEqual(['n1', 'n2', 'n3']);
    await refusal.locator('.n-base-close').click();
    await refusal.waitFor({ state: 'hidden' });

    // Allowed to send the console's Node runtime there, the same add goes through.
    await tid('membership-upload-runtime').click();
    await tid('membership-add-learner').click();
    await tid('membership-committed').waitFor({ timeout: 3 * LONG });
    await tid('config-voter-n4').waitFor();
    expect(await text('config-majority')).toBe('majority 3 of 4');
    await shots('remote-membership-added');

    await go('dashboard');
    await expect.poll(() => text('node-process-n4'), { timeout: LONG }).toBe('remote · running');
    await expect.poll(leaderCount, { timeout: LONG }).toBe(1);
    await go('log');
    await tid('log-jump-input').locator('input').fill(String(greetingIndex));
    await tid('log-jump').click();
    await expect.poll(async () => (await tid(`log-cell-n4-${greetingIndex}`).count()) && tid(`log-cell-n4-${greetingIndex}`).innerText(), { timeout: LONG }).toContain('greeting');
    await go('clusters');
    expect(await text('node-location-n4', tid(`cluster-card-${clusterId}`))).toContain(h4.name);
    await go('hosts');
    expect(await text(`host-nodes-${h4Id}`)).toContain('lab-remote / n4');
    // n4 runs on the runtime the console sent (rc-h4 has no Node of its own).
    const plan = await web.api.invoke('remote.plan', { host: h4Id, uploadRuntime: false });
    expect(plan).toMatchObject({ hostNode: null, runtime: 'uploaded', runtimePresent: true, uploadBytes: 0 });
  }, 6 * LONG);
});
