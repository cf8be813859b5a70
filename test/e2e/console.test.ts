// End to end: the built console in Debian's Chromium, against web mode with real raftd processes.
// Elements are found by data-testid. Screenshots of every main view land in test-results/console-e2e/.
import { writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import ssh2 from 'ssh2';
import { generateEd25519Key } from '../remote/ed25519-key';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { e2eUnavailable, openConsoleInBrowser, SHOTS, type WebMode } from './webMode';

const unavailable = e2eUnavailable();
if (unavailable) console.warn(`[e2e] console end-to-end tests skipped: ${unavailable}`);

const LONG = 90_000;
/** Log entries written for the inspector check (issue 6: smooth with 100,000); ~25 s on the embedded cluster. Lower it on a slow machine. */
const LOG_ENTRIES = Number(process.env.RAFT_E2E_LOG_ENTRIES ?? 100_000);

describe.skipIf(unavailable !== null)('Raft Console end to end (web mode, Chromium)', () => {
  let web: WebMode;
  let browser: Browser;
  let page: Page;
  let clusterId = '';
  let demoId = '';
  const tid = (id: string) => page.locator(`[data-testid="${id}"]`);
  const text = async (id: string) => (await tid(id).innerText()).trim();
  const leaderCount = () => page.locator('[data-testid^="node-role-"]', { hasText: /^leader$/ }).count();
  const go = async (view: string) => {
    await tid(`nav-${view}`).click();
    await tid(`view-${view}`).waitFor();
  };
  // Transitions finished, so a picture shows the state the test reached rather than the one before.
  const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true, animations: 'disabled' });
  /** Indexes of the log inspector rows in the page (the grid renders only those near the viewport). */
  const renderedRows = () =>
    page.locator('[data-testid^="log-row-"]').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-testid')!.slice('log-row-'.length))));
  const shownLogLines = () => page.locator('[data-testid="node-log-line"] .msg').allInnerTexts();

  beforeAll(async () => {
    ({ web, browser, page } = await openConsoleInBrowser());
    await tid('app').waitFor();
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await web?.stop();
    console.log(`[e2e] screenshots: ${SHOTS}`);
  }, 120_000);

  it('opens on the embedded demo cluster and shows one leader', async (ctx) => {
    const clusters = await web.api.invoke('clusters.list', {});
    const demo = clusters.find((c) => c.kind === 'embedded');
    if (!demo) {
      console.warn('[e2e] no embedded demo cluster: this web mode was started without embedded clusters; skipping that check');
      ctx.skip();
      return;
    }
    demoId = demo.id;
    await tid('view-dashboard').waitFor();
    expect(await text('header-cluster')).toBe(demo.name);
    await expect.poll(leaderCount, { timeout: LONG }).toBe(1);
    expect(await text('header-leader')).not.toBe('none');

    // Simulated time: followers' election timers are drawn, messages fly, and time can be paused and stepped.
    await expect.poll(() => page.locator('[data-testid^="election-timer-"]').count(), { timeout: LONG }).toBeGreaterThan(0);
    await expect.poll(() => page.locator('[data-testid^="message-"]').count(), { timeout: LONG }).toBeGreaterThan(0);
    await shot('dashboard-embedded');
    await tid('clock-toggle').click();
    await expect.poll(async () => text('clock-toggle'), { timeout: LONG }).toBe('Run time');
    const simulated = async () => Number(/simulated ([\d.]+) s/.exec(await text('simulation-controls'))?.[1]);
    const before = await simulated();
    await tid('clock-step').click();
    await expect.poll(simulated, { timeout: LONG }).toBeGreaterThan(before);
    await tid('clock-toggle').click();
    await expect.poll(async () => text('clock-toggle'), { timeout: LONG }).toBe('Pause time');
  }, 2 * LONG);

  it(`shows a ${LOG_ENTRIES.toLocaleString('en-US')}-entry log as a window of rows that jumps and scrolls`, async (ctx) => {
    if (!demoId) {
      ctx.skip();
      return;
    }
    // A follower is down while the entries are written. It still describes its log from index 1, so the inspector
    // spans every index; the other two have compacted all but their newest entries into snapshots.
    const before = await web.api.invoke('cluster.state', { clusterId: demoId });
    const down = before.nodes.find((n) => n.id !== before.leader)!.id;
    const up = before.nodes.map((n) => n.id).find((id) => id !== down)!;
    await web.api.invoke('node.kill', { clusterId: demoId, nodeId: down });
    await web.api.invoke('embedded.clock', { clusterId: demoId, action: 'run', speed: 20 });
    let next = 0;
    const writer = async () => {
      while (next < LOG_ENTRIES) {
        const i = next++;
        await web.api.invoke('kv.put', { clusterId: demoId, key: `key-${i % 1000}`, value: String(i) });
      }
    };
    await Promise.all(Array.from({ length: 500 }, writer));
    const written = await web.api.invoke('cluster.state', { clusterId: demoId });
    const last = Math.max(...written.nodes.map((n) => n.lastIndex));
    const commit = written.nodes.find((n) => n.id === written.leader)!.commitIndex;
    expect(last).toBeGreaterThanOrEqual(LOG_ENTRIES);

    await go('log');
    await expect.poll(() => text('log-index-count'), { timeout: LONG }).toBe(`${last.toLocaleString('en-US')} indexes`);
    const top = await renderedRows();
    expect(top).toContain(1);
    expect(top.length).toBeLessThan(200);

    // Jump to the last written entry: its rows are read from the nodes and shown, and only rows around it exist.
    await tid('log-jump-input').locator('input').fill(String(LOG_ENTRIES));
    await tid('log-jump').click();
    await expect.poll(async () => (await tid(`log-cell-${up}-${LOG_ENTRIES}`).count()) && tid(`log-cell-${up}-${LOG_ENTRIES}`).innerText(), { timeout: LONG }).toContain('put key-');
    const around = await renderedRows();
    expect(around.length).toBeLessThan(200);
    expect(Math.min(...around)).toBeGreaterThan(LOG_ENTRIES - 200);
    await shot('log-inspector-100k');

    // Scrolling up with the wheel brings older rows in and drops the newest.
    await tid('log-grid').hover();
    await page.mouse.wheel(0, -26 * 300);
    await expect.poll(async () => Math.max(...(await renderedRows())), { timeout: LONG }).toBeLessThan(LOG_ENTRIES - 150);

    // At the very top, the old entries are compacted on the live nodes and missing on the one that was down.
    await tid('log-grid').locator('.scroller').evaluate((el) => el.scrollTo(0, 0));
    await expect.poll(renderedRows, { timeout: LONG }).toContain(1);
    expect(await tid(`log-cell-${up}-1`).innerText()).toContain('compacted');
    // The node that was down shows what its log held when it went down (index 1 was there), not "compacted".
    if (await tid(`log-cell-${down}-1`).count()) expect(await tid(`log-cell-${down}-1`).innerText()).not.toContain('compacted');
    expect(await text(`log-head-${down}`)).toContain('down');

    await tid('log-jump-commit').click();
    await expect.poll(renderedRows, { timeout: LONG }).toContain(commit);

    // Leaving the view and coming back keeps the place.
    await go('kv');
    await go('log');
    await expect.poll(renderedRows, { timeout: LONG }).toContain(commit);

    await web.api.invoke('node.start', { clusterId: demoId, nodeId: down });
    await web.api.invoke('embedded.clock', { clusterId: demoId, action: 'run', speed: 1 });
  }, 4 * LONG);

  it('creates a local 3-node cluster, kills its leader and sees a new leader with a higher term', async () => {
    await go('clusters');
    await tid('create-cluster').click();
    await tid('wizard-kind-local').click();
    await tid('wizard-next').click();
    await tid('wizard-next').click();
    await tid('wizard-create').click();
    await tid('view-dashboard').waitFor({ timeout: LONG });
    clusterId = (await web.api.invoke('clusters.list', {})).find((c) => c.kind === 'local')!.id;
    await expect.poll(leaderCount, { timeout: LONG }).toBe(1);
    const firstLeader = await text('header-leader');
    const firstTerm = Number(await text('header-term'));
    expect(firstLeader).toMatch(/^n[123]$/);
    await shot('dashboard-local');

    await go('faults');
    // It asks first, as each row's Kill does.
    await tid('fault-kill-leader').click();
    await page.locator('.n-popconfirm__action button:visible', { hasText: 'Kill' }).click();
    await expect.poll(async () => text(`fault-process-${firstLeader}`), { timeout: LONG }).toBe('killed');
    await expect
      .poll(async () => ({ leader: await text('header-leader'), term: Number(await text('header-term')) }), { timeout: LONG })
      .toEqual({ leader: expect.not.stringMatching(new RegExp(`^(${firstLeader}|none)$`)), term: expect.any(Number) });
    expect(Number(await text('header-term'))).toBeGreaterThan(firstTerm);
    await shot('faults');

    // Bring the old leader back as a follower so the cluster is whole again.
    await tid(`fault-start-${firstLeader}`).click();
    await expect.poll(async () => text(`fault-process-${firstLeader}`), { timeout: LONG }).toBe('running');
  }, 3 * LONG);

  it('puts a key and sees it in every node’s log', async () => {
    await go('kv');
    await tid('kv-key').locator('input').fill('color');
    await tid('kv-value').locator('textarea').fill('blue');
    await tid('kv-submit').click();
    const committed = await tid('kv-committed-at').first().innerText({ timeout: LONG });
    const index = Number(/index (\d+)/.exec(committed)?.[1]);
    expect(index).toBeGreaterThan(0);
    await shot('kv');

    await go('log');
    await tid('log-jump-input').locator('input').fill(String(index));
    await tid('log-jump').click();
    for (const node of ['n1', 'n2', 'n3']) {
      await expect.poll(async () => (await tid(`log-cell-${node}-${index}`).count()) && tid(`log-cell-${node}-${index}`).innerText(), { timeout: LONG }).toContain('color');
    }
    await tid(`log-cell-n2-${index}`).click();
    await expect.poll(async () => text('log-entry-summary'), { timeout: LONG }).toContain('color');
    await shot('log-inspector');
    await page.keyboard.press('Escape');
  }, 2 * LONG);

  it('adds a fourth node with the membership wizard and then removes it', async () => {
    await go('membership');
    await tid('membership-safe').waitFor({ timeout: LONG });
    await tid('membership-new-node-id').locator('input').fill('n4');
    await shot('membership-plan');
    await tid('membership-add-learner').click();
    await tid('membership-committed').waitFor({ timeout: 2 * LONG });
    await expect.poll(async () => tid('config-voter-n4').count()).toBe(1);
    expect(await text('config-majority')).toBe('majority 3 of 4');
    await shot('membership-added');

    await tid('membership-tab-remove').click();
    await tid('membership-remove-choose-n4').click();
    await tid('membership-safe').waitFor({ timeout: LONG });
    await tid('membership-remove-confirm').click();
    await tid('membership-removed').waitFor({ timeout: 2 * LONG });
    await expect.poll(async () => tid('config-voter-n4').count()).toBe(0);
    expect(await text('config-majority')).toBe('majority 2 of 3');
    await shot('membership-removed');
  }, 5 * LONG);

  it('cuts the network: the majority side keeps a leader, the cut-off old leader loses it, healing brings it back', async () => {
    await go('faults');
    const oldLeader = await text('header-leader');
    const oldTerm = Number(await text('header-term'));
    const faultLeaders = () => page.locator('[data-testid^="fault-role-"]', { hasText: /^leader$/ }).count();
    await tid(`partition-${oldLeader}-side-1`).click();
    expect(await text('partition-outcome')).toContain('Side A holds a majority');
    await tid('partition-apply').click();
    await expect.poll(() => text('partition-current'), { timeout: LONG }).toContain(`{ ${oldLeader} }`);

    // The majority elects a leader in a higher term; the old leader, hearing from no majority, steps down.
    await expect.poll(() => text('header-leader'), { timeout: LONG }).not.toMatch(new RegExp(`^(${oldLeader}|none)$`));
    expect(Number(await text('header-term'))).toBeGreaterThan(oldTerm);
    await expect.poll(() => text(`fault-role-${oldLeader}`), { timeout: LONG }).not.toBe('leader');
    await expect.poll(faultLeaders, { timeout: LONG }).toBe(1);
    await expect.poll(() => text(`fault-health-${oldLeader}`), { timeout: LONG }).toBe('cut off from the leader by the partition');
    await shot('faults-partitioned');

    await tid('partition-heal').click();
    await expect.poll(() => tid('partition-current').count(), { timeout: LONG }).toBe(0);
    await expect.poll(() => text(`fault-role-${oldLeader}`), { timeout: LONG }).toBe('follower');
    await expect.poll(faultLeaders, { timeout: LONG }).toBe(1);
    await expect.poll(() => text(`fault-health-${oldLeader}`), { timeout: LONG }).not.toContain('cut off');
  }, 3 * LONG);

  it('searches the node logs and follows new lines live', async () => {
    await go('nodeLogs');
    await expect.poll(() => page.locator('[data-testid="node-log-line"]').count(), { timeout: LONG }).toBeGreaterThan(0);

    // A search reads the files again and lists only the matching lines.
    const search = tid('node-log-search').locator('input');
    await search.fill('became leader');
    await search.press('Enter');
    await expect.poll(async () => (await shownLogLines()).every((l) => l.includes('became leader')), { timeout: LONG }).toBe(true);
    expect((await shownLogLines()).length).toBeGreaterThanOrEqual(2);
    await shot('node-logs-search');

    // Live tail: a restarted node's new lines arrive without reading the files again.
    await search.fill('');
    await search.press('Enter');
    await tid('node-log-live').click();
    await expect.poll(async () => (await tid('node-log-live').getAttribute('class')) ?? '').toContain('n-switch--active');
    await search.fill('raftd started');
    const started = async () => Number(/^([\d,]+) of/.exec(await text('node-log-count'))?.[1].replace(/,/g, ''));
    const before = await started();
    const state = await web.api.invoke('cluster.state', { clusterId });
    const follower = state.nodes.find((n) => n.id !== state.leader)!.id;
    await web.api.invoke('node.restart', { clusterId, nodeId: follower });
    await expect.poll(started, { timeout: LONG }).toBe(before + 1);
    expect((await shownLogLines()).at(-1)).toContain('raftd started');
    await search.fill('');
    await tid('node-log-live').click();
  }, 2 * LONG);

  it('shows every main view in both themes (screenshots for a person to look at)', async () => {
    expect(clusterId).not.toBe('');
    for (const [theme, suffix] of [['Light', ''], ['Dark', '-dark']]) {
      await tid('theme-choice').getByText(theme).click();
      await expect.poll(() => tid('app').getAttribute('data-theme')).toBe(theme.toLowerCase());
      for (const view of ['clusters', 'dashboard', 'log', 'timeline', 'membership', 'faults', 'kv', 'nodeLogs', 'activity']) {
        await go(view);
        await page.waitForTimeout(500);
        await shot(`view-${view}${suffix}`);
      }
    }
    await tid('theme-choice').getByText('Light').click();
    await go('timeline');
    expect(Number(await text('timeline-elections'))).toBeGreaterThanOrEqual(2);
    await go('activity');
    expect(await tid('activity-list').innerText()).toContain('kill');
  }, 2 * LONG);

  it('adds an SSH host profile in the Hosts view and tests it (a closed loopback port fails at TCP); screenshots light and dark', async () => {
    await go('hosts');
    await tid('hosts-secrets').waitFor();
    // Web mode keeps secrets in memory only, and the page says so as the backend words it.
    expect((await web.api.invoke('hosts.list', {})).secrets.description).toBe(await text('hosts-secrets'));
    await tid('host-add').click();
    await tid('host-form-name').locator('input').fill('lab-1');
    await tid('host-form-address').locator('input').fill('127.0.0.1');
    await tid('host-form-port').locator('input').fill('1');
    await tid('host-form-user').locator('input').fill('ops');
    await tid('host-form-auth-agent').click();
    await tid('host-form-save').click();
    await tid('host-form').waitFor({ state: 'hidden' });
    const [host] = (await web.api.invoke('hosts.list', {})).hosts;
    expect(host).toMatchObject({ name: 'lab-1', address: '127.0.0.1', port: 1, user: 'ops', auth: { kind: 'agent' } });
    await tid(`host-test-button-${host.id}`).click();
    await tid(`host-test-${host.id}`).waitFor();
    expect(await tid('host-test-step-tcp').getAttribute('data-status')).toBe('failed');
    for (const [theme, suffix] of [['Light', ''], ['Dark', '-dark']]) {
      await tid('theme-choice').getByText(theme).click();
      await expect.poll(() => tid('app').getAttribute('data-theme')).toBe(theme.toLowerCase());
      await page.waitForTimeout(500);
      await shot(`view-hosts${suffix}`);
    }
    await tid('theme-choice').getByText('Light').click();
    await tid('host-add').click();
    await shot('host-form');
    await page.keyboard.press('Escape');
    await web.api.invoke('hosts.delete', { id: host.id });
  }, LONG);

  it('imports hosts from ~/.ssh/config: lists them as ssh resolves them, skips what a profile cannot hold, imports the chosen ones', async () => {
    // The web mode's own HOME (webMode.ts), never the user's.
    await writeFile(
      join(web.home, '.ssh', 'config'),
      'Host lab-gw\n  HostName 127.0.0.1\n  Port 1\nHost lab-app\n  HostName 127.0.0.1\n  ProxyJump lab-gw\nHost lab-bad\n  User "two words"\nHost lab-*\n  User deploy\nHost *\n  User ops\n',
    );
    await go('hosts');
    await tid('host-import').click();
    await tid('host-import-source-ssh-config').click();
    await tid('ssh-import-candidates').waitFor();
    expect(await text('ssh-host-where-lab-gw')).toBe('deploy@127.0.0.1:1');
    expect(await text('ssh-host-where-lab-app')).toBe('deploy@127.0.0.1:22');
    expect(await text('ssh-host-jump-lab-app')).toBe('through lab-gw');
    expect(await text('ssh-skipped-lab-bad')).toContain('user: a login name');
    await shot('host-import-ssh-config');
    await tid('host-import-confirm').click();
    await tid('host-import-dialog').waitFor({ state: 'hidden' });
    const imported = (await web.api.invoke('hosts.list', {})).hosts;
    const gw = imported.find((h) => h.name === 'lab-gw')!;
    const app = imported.find((h) => h.name === 'lab-app')!;
    expect(app).toMatchObject({ address: '127.0.0.1', port: 22, user: 'deploy', auth: { kind: 'agent' }, jumpHostId: gw.id });
    await tid(`host-card-${app.id}`).waitFor();
    expect(await tid(`host-card-${app.id}`).innerText()).toContain('through lab-gw');
    await web.api.invoke('hosts.delete', { id: app.id });
    await web.api.invoke('hosts.delete', { id: gw.id });
  }, LONG);

  it('plans a remote cluster on chosen hosts and shows, per host, why a deploy cannot happen (nothing listens there)', async () => {
    const host = await web.api.invoke('hosts.create', { name: 'far-box', address: '127.0.0.1', port: 1, user: 'ops', auth: { kind: 'agent' } });
    try {
      await go('clusters');
      await tid('create-cluster').click();
      await tid('wizard-kind-remote').click();
      await tid('wizard-next').click();
      await tid(`remote-host-count-${host.id}`).locator('input').fill('3');
      await tid(`remote-host-count-${host.id}`).locator('input').blur();
      await expect.poll(() => text('wizard-size-advice')).toContain('majority 2 of 3');
      await shot('remote-wizard-hosts');
      await tid('wizard-next').click();
      await tid(`remote-plan-error-${host.id}`).waitFor();
      expect(await text(`remote-plan-error-${host.id}`)).toMatch(/refused/);
      expect(await tid('wizard-create').isDisabled()).toBe(true);
      await shot('remote-wizard-plan');
      await page.keyboard.press('Escape');
      await tid('cluster-wizard').waitFor({ state: 'hidden' });
    } finally {
      await web.api.invoke('hosts.delete', { id: host.id });
    }
  }, LONG);

  it('asks before trusting an unknown host key, showing its fingerprint and the command to compare it; sends nothing when refused', async () => {
    // An SSH server on loopback (ssh2's) with a fresh ed25519 host key; it counts login attempts.
    const key = generateEd25519Key();
    let logins = 0;
    const server = new ssh2.Server({ hostKeys: [key.private] }, (client) => {
      client.on('authentication', (ctx) => {
        logins++;
        ctx.reject();
      });
      client.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const host = await web.api.invoke('hosts.create', { name: 'fresh-box', address: '127.0.0.1', port, user: 'ops', auth: { kind: 'agent' } });
      await go('clusters');
      await go('hosts');
      // Asked again on every attempt while the key is not trusted: once per theme for the pictures.
      for (const [theme, suffix] of [['Dark', '-dark'], ['Light', '']]) {
        await tid('theme-choice').getByText(theme).click();
        await expect.poll(() => tid('app').getAttribute('data-theme')).toBe(theme.toLowerCase());
        await tid(`host-test-button-${host.id}`).click();
        await tid('host-key-fingerprint').waitFor();
        expect(await text('host-key-type')).toBe('ssh-ed25519');
        expect(await text('host-key-fingerprint')).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
        expect(await text('host-key-command')).toBe('ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub');
        await page.waitForTimeout(400);
        await shot(`host-key-dialog${suffix}`);
        await tid('host-key-dismiss').click();
        await tid('host-key-dialog').waitFor({ state: 'hidden' });
      }
      expect(logins).toBe(0);
      await web.api.invoke('hosts.delete', { id: host.id });
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }, LONG);

  it('recovers from a lost majority only when asked twice: restarting one survivor alone (force-new-cluster)', async () => {
    await go('faults');
    const state = await web.api.invoke('cluster.state', { clusterId });
    const survivor = state.nodes.find((n) => n.id !== state.leader)!.id;
    for (const n of state.nodes.filter((n) => n.id !== survivor)) {
      await tid(`fault-kill-${n.id}`).click();
      await page.locator('.n-popconfirm__action button:visible', { hasText: 'Kill' }).click();
      await expect.poll(() => text(`fault-process-${n.id}`), { timeout: LONG }).toBe('killed');
    }
    await expect.poll(() => text('quorum-lost'), { timeout: LONG }).toContain('Only 1 of 3 voters can still come back');
    const recover = tid(`recover-from-${survivor}`);
    expect(await recover.isDisabled()).toBe(true);
    await tid('recovery-confirm').locator('input').fill('not-a-node');
    expect(await recover.isDisabled()).toBe(true);
    await tid('recovery-confirm').locator('input').fill(survivor);
    await expect.poll(() => recover.isEnabled()).toBe(true);
    await shot('faults-quorum-lost');
    await recover.click();

    // The survivor leads a one-node cluster: commits need only itself again.
    await expect.poll(() => text('header-leader'), { timeout: 2 * LONG }).toBe(survivor);
    await expect.poll(() => tid('quorum-lost').count(), { timeout: LONG }).toBe(0);
    await go('membership');
    expect(await text('config-majority')).toBe('majority 1 of 1');
    await shot('recovered');
  }, 3 * LONG);

  it('shows the embedded timeline on its simulated clock, and fits a 1024×700 window in both themes', async (ctx) => {
    if (!demoId) {
      ctx.skip();
      return;
    }
    await page.evaluate((hash) => (location.hash = hash), `#/timeline/${demoId}`);
    await tid('view-timeline').waitFor();
    await tid('term-chart').locator('svg').waitFor();
    // Ticks are simulated time elapsed since the start (+m:ss.t), not a clock time.
    const ticks = async () => (await tid('term-chart').locator('svg text').allTextContents()).filter((t) => /^\+\d+:\d\d\.\d$/.test(t));
    await expect.poll(async () => (await ticks()).length, { timeout: LONG }).toBeGreaterThan(1);
    expect(new Set(await ticks()).size).toBe((await ticks()).length);
    await shot('timeline-embedded');

    // Act where you look: with time paused, a message in flight shows its fields, a node what can be done to it.
    await page.evaluate((hash) => (location.hash = hash), `#/dashboard/${demoId}`);
    await tid('topology-title').waitFor();
    await tid('clock-toggle').click();
    await expect.poll(async () => text('clock-toggle'), { timeout: LONG }).toBe('Run time');
    // Step time until a message is on its way: paused between heartbeats, none may be. Steps shorter than
    // a message's flight (and than a tick) cannot keep landing between flights, as 100 ms steps could.
    const inFlight = page.locator('[data-testid^="message-"]');
    await expect
      .poll(async () => {
        const count = await inFlight.count();
        if (count === 0) await web.api.invoke('embedded.clock', { clusterId: demoId, action: 'step', stepMs: 7 });
        return count;
      }, { timeout: LONG })
      .toBeGreaterThan(0);
    await inFlight.first().click({ force: true });
    expect(await text('topology-message-fields')).toMatch(/from → to\s*n\d → n\d/);
    await shot('topology-message');
    const someNode = (await web.api.invoke('cluster.state', { clusterId: demoId })).nodes[0].id;
    await tid(`topology-node-${someNode}`).click();
    await tid('topology-selection').waitFor();
    expect(await tid(`topology-kill-${someNode}`).count()).toBe(1);
    await shot('topology-node');
    await tid('clock-toggle').click();

    await page.setViewportSize({ width: 1024, height: 700 });
    await tid('topology-title').waitFor();
    const box = async (id: string) => (await tid(id).boundingBox())!;
    for (const [theme, suffix] of [['Light', ''], ['Dark', '-dark']]) {
      await tid('theme-choice').getByText(theme).click();
      await expect.poll(() => tid('app').getAttribute('data-theme')).toBe(theme.toLowerCase());
      // The header's parts sit side by side without overlapping, and the card title stays on one line.
      const [title, facts, tools] = [await box('header-title'), await box('header-facts'), await box('header-tools')];
      expect(title.x + title.width).toBeLessThanOrEqual(facts.x);
      expect(facts.x + facts.width).toBeLessThanOrEqual(tools.x);
      expect(tools.x + tools.width).toBeLessThanOrEqual(1024);
      // One line of text is less than two font sizes high ("Topology" wrapped one letter a line before).
      const fontSize = await tid('topology-title').evaluate((el) => parseFloat(getComputedStyle(el).fontSize));
      expect((await box('topology-title')).height).toBeLessThan(2 * fontSize);
      await shot(`small-window-dashboard${suffix}`);
      await go('timeline');
      await shot(`small-window-timeline${suffix}`);
      await go('dashboard');
    }
    await tid('theme-choice').getByText('Light').click();
    await page.setViewportSize({ width: 1440, height: 960 });
  }, 2 * LONG);
});
