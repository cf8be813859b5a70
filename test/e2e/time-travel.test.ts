// End to end: time travel on a local cluster of raftd processes. The test watches the cluster through
// the API (its own record of who led in which term, and when), kills the leader, then scrubs the time
// slider back over the election and checks every view shows what the test saw at that moment; then live
// again. Then the history is exported as a file and imported as a read-only replay. Screenshots of the
// new screens, light and dark, land beside the others in test-results/console-e2e/.
import { join } from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterState } from '../../electron/shared/api';
import { e2eUnavailable, openConsoleInBrowser, SHOTS, type WebMode } from './webMode';

const unavailable = e2eUnavailable();
if (unavailable) console.warn(`[e2e] time travel end-to-end tests skipped: ${unavailable}`);

const LONG = 90_000;
/** How long a leader must be seen leading, the same term, before the test counts on it. */
const STABLE_MS = 3000;

interface Seen {
  at: number;
  leader: string;
  term: number;
}

describe.skipIf(unavailable !== null)('time travel end to end (web mode, Chromium, local raftd cluster)', () => {
  let web: WebMode;
  let browser: Browser;
  let page: Page;
  let clusterId = '';
  /** What the test itself saw, polling the API: the ground truth the views are checked against. */
  const seen: Seen[] = [];
  let polling = true;
  let poller: Promise<void> | undefined;
  const tid = (id: string) => page.locator(`[data-testid="${id}"]`);
  const text = async (id: string) => (await tid(id).innerText()).trim();
  const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true, animations: 'disabled' });
  const setTheme = async (theme: 'Light' | 'Dark') => {
    await tid('theme-choice').getByText(theme).click();
    await expect.poll(() => tid('app').getAttribute('data-theme')).toBe(theme.toLowerCase());
  };
  const bothThemes = async (name: string) => {
    await setTheme('Dark');
    await shot(`${name}-dark`);
    await setTheme('Light');
    await shot(name);
  };

  /** Polls the cluster's state every 250 ms (bounded by the test's life) and keeps who led in which term. */
  async function watch(): Promise<void> {
    while (polling) {
      const state: ClusterState | undefined = await web.api.invoke('cluster.state', { clusterId }).catch(() => undefined);
      if (state) seen.push({ at: state.at, leader: state.leader, term: state.term });
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** Waits until one leader has been seen leading one term for STABLE_MS; returns that stretch. */
  async function stableLeader(not?: string): Promise<{ leader: string; term: number; from: number }> {
    let result: { leader: string; term: number; from: number } | undefined;
    await expect
      .poll(
        () => {
          const last = seen.at(-1);
          if (!last?.leader || last.leader === not) return false;
          let i = seen.length - 1;
          while (i > 0 && seen[i - 1].leader === last.leader && seen[i - 1].term === last.term) i--;
          if (last.at - seen[i].at < STABLE_MS) return false;
          result = { leader: last.leader, term: last.term, from: seen[i].at };
          return true;
        },
        { timeout: LONG, interval: 250 },
      )
      .toBe(true);
    return result!;
  }

  /** What the test saw at moment `t`: the samples just before and after it agree, or it cannot say. */
  function truthAt(t: number): Seen {
    const before = [...seen].reverse().find((s) => s.at <= t);
    const after = seen.find((s) => s.at > t);
    expect(before, `the test saw nothing before ${t}`).toBeDefined();
    expect(after, `the test saw nothing after ${t}`).toBeDefined();
    expect([after!.leader, after!.term], 'the moment chosen falls where the test saw a change').toEqual([before!.leader, before!.term]);
    return before!;
  }

  /** Clicks the slider where moment `t` is, and returns the moment the console then shows. */
  async function scrubTo(t: number): Promise<number> {
    const track = tid('time-track');
    const rail = track.locator('.n-slider-rail');
    const box = (await rail.boundingBox())!;
    const min = Number(await track.getAttribute('data-min'));
    const max = Number(await track.getAttribute('data-max'));
    expect(t).toBeGreaterThan(min);
    expect(t).toBeLessThan(max);
    await page.mouse.click(box.x + (box.width * (t - min)) / (max - min), box.y + box.height / 2);
    await expect.poll(async () => Number((await tid('time-label').getAttribute('data-at')) || 0), { timeout: LONG }).toBeGreaterThan(0);
    const moment = Number(await tid('time-label').getAttribute('data-moment'));
    // Within a few pixels of where it was asked for (the live end moves on while the mouse travels).
    expect(Math.abs(moment - t)).toBeLessThan(((max - min) / box.width) * 10);
    return moment;
  }

  beforeAll(async () => {
    ({ web, browser, page } = await openConsoleInBrowser());
    await tid('app').waitFor();
  }, 240_000);

  afterAll(async () => {
    polling = false;
    await poller;
    await browser?.close();
    await web?.stop();
  }, 120_000);

  it('scrubs back over an election on a local cluster: every view shows the old leader and term, then live again', async () => {
    const created = await web.api.invoke('clusters.create', { kind: 'local', name: 'Travel', size: 3 });
    clusterId = created.id;
    if (created.health === 'stopped') await web.api.invoke('clusters.start', { clusterId });
    poller = watch();
    await page.goto(`${web.url.split('#')[0]}#/dashboard/${clusterId}`);
    await tid('view-dashboard').waitFor({ timeout: LONG });

    const first = await stableLeader();
    const killedAt = Date.now();
    await web.api.invoke('node.kill', { clusterId, nodeId: first.leader });
    const second = await stableLeader(first.leader);
    expect(second.term).toBeGreaterThan(first.term);
    await expect.poll(() => text('header-leader'), { timeout: LONG }).toBe(second.leader);
    await expect.poll(() => text('time-label'), { timeout: LONG }).toBe('live');

    // Back to the middle of the first leader's stretch, before the kill.
    const beforeKill = await scrubTo((first.from + killedAt) / 2);
    const then = truthAt(beforeKill);
    expect(then).toMatchObject({ leader: first.leader, term: first.term });
    await expect.poll(() => text('header-leader'), { timeout: LONG }).toBe(then.leader);
    expect(Number(await text('header-term'))).toBe(then.term);
    // All three were up then: the health of that moment, not of now (one node is killed now).
    expect(await text('header-health')).toBe('healthy');
    expect(await text(`node-role-${then.leader}`)).toBe('leader');
    // The node killed later is still running at that moment.
    expect(await text(`node-process-${first.leader}`)).toContain('running');
    // Nothing can be done to the past, and the console says so.
    expect(await text('time-readonly')).toMatch(/looking at the past .* actions are off until you return to live/);
    await bothThemes('time-travel-past-dashboard');
    await tid('nav-faults').click();
    await tid('view-faults').waitFor();
    expect(await text(`fault-role-${then.leader}`)).toBe('leader');
    expect(await tid(`fault-kill-${then.leader}`).count()).toBe(0);
    await bothThemes('time-travel-past-faults');

    // The timeline at that moment has not seen the second election yet; the topology and log inspector show that moment too.
    await tid('nav-timeline').click();
    await tid('view-timeline').waitFor();
    await expect.poll(() => text('header-leader')).toBe(then.leader);
    expect(await text('timeline-events')).not.toContain(`${second.leader} leads term ${second.term}`);
    await bothThemes('time-travel-past-timeline');
    await tid('nav-log').click();
    await tid('view-log').waitFor();
    await bothThemes('time-travel-past-log');

    // Forward over the election: the new leader in its higher term.
    await tid('nav-dashboard').click();
    await tid('view-dashboard').waitFor();
    const afterElection = await scrubTo((second.from + Number(await tid('time-track').getAttribute('data-max'))) / 2);
    const later = truthAt(afterElection);
    expect(later).toMatchObject({ leader: second.leader, term: second.term });
    await expect.poll(() => text('header-leader'), { timeout: LONG }).toBe(later.leader);
    expect(Number(await text('header-term'))).toBe(later.term);

    // Live again: the present, and actions back.
    await tid('time-live').click();
    await expect.poll(() => text('time-label')).toBe('live');
    await expect.poll(() => text('header-leader'), { timeout: LONG }).toBe(second.leader);
    expect(await tid('time-readonly').count()).toBe(0);
    await bothThemes('time-travel-live');
    await tid('nav-faults').click();
    await expect.poll(() => tid(`fault-kill-${second.leader}`).count(), { timeout: LONG }).toBe(1);
  }, 4 * LONG);

  it('exports the history as a file and imports it as a read-only replay that plays', async () => {
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: LONG }),
      (async () => {
        await tid('time-export').click();
        await page.getByText('Everything recorded').click();
      })(),
    ]);
    const file = join(SHOTS, '..', 'time-travel-export.raft-trace.ndjson');
    await download.saveAs(file);
    expect(download.suggestedFilename()).toMatch(new RegExp(`^${clusterId}-.*\\.raft-trace\\.ndjson$`));

    await tid('time-import-file').setInputFiles(file);
    await expect.poll(() => text('header-cluster'), { timeout: LONG }).toBe('Travel (replay)');
    const replay = (await web.api.invoke('clusters.list', {})).find((c) => c.replay)!;
    expect(replay.replay?.sourceId).toBe(clusterId);
    // A replay opens at its start, has no live moment, and says it is read-only.
    expect(await tid('time-live').count()).toBe(0);
    expect(await text('time-readonly')).toMatch(/replay of a recorded trace/);
    await bothThemes('time-travel-replay');
    // Listed beside the clusters, marked as a replay.
    await tid('nav-clusters').click();
    await expect.poll(() => tid(`cluster-replay-${replay.id}`).count(), { timeout: LONG }).toBe(1);
    await bothThemes('time-travel-replay-in-clusters');
    await tid(`cluster-open-${replay.id}`).click();
    await tid('view-dashboard').waitFor();
    await tid('time-play').click();
    const start = Number(await tid('time-label').getAttribute('data-moment'));
    await expect.poll(async () => Number(await tid('time-label').getAttribute('data-moment')), { timeout: LONG }).toBeGreaterThan(start);
    await tid('time-play').click();
  }, 2 * LONG);

  it('shows an embedded cluster at a past moment on its simulated clock, its messages drawn, and no clock controls', async (ctx) => {
    const demo = (await web.api.invoke('clusters.list', {})).find((c) => c.kind === 'embedded' && !c.replay);
    if (!demo) return ctx.skip();
    await page.goto(`${web.url.split('#')[0]}#/dashboard/${demo.id}`);
    await tid('view-dashboard').waitFor({ timeout: LONG });
    await expect.poll(() => text('header-leader'), { timeout: LONG }).not.toBe('none');
    await tid('clock-toggle').waitFor({ timeout: LONG });
    await expect.poll(async () => Number(await tid('time-track').getAttribute('data-max')) - Number(await tid('time-track').getAttribute('data-min')), { timeout: LONG }).toBeGreaterThan(4000);
    const min = Number(await tid('time-track').getAttribute('data-min'));
    const max = Number(await tid('time-track').getAttribute('data-max'));
    await scrubTo(max - (max - min) / 4);
    // Simulated time, as elapsed since the cluster started; the clock's controls act on now, so they are gone.
    await expect.poll(() => text('time-label'), { timeout: LONG }).toMatch(/^\+\d+:\d\d\.\d simulated$/);
    expect(await tid('clock-toggle').count()).toBe(0);
    // Its messages in flight at that moment are drawn, stopped where they were.
    await tid('topology').waitFor();
    expect(await tid('view-dashboard').innerText()).not.toContain('Messages and election timers are drawn for embedded clusters');
    await bothThemes('time-travel-past-embedded');
    await tid('time-live').click();
    await expect.poll(() => tid('clock-toggle').count(), { timeout: LONG }).toBe(1);
  }, 2 * LONG);
});
