// Every guided scenario, played headless on the real core: each step's checks (what its narration
// claims) must hold, for several seeds, so the story cannot drift from what the core does.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ScenarioRun, scenarios, findScenario, type Scenario } from '../../../core/scenarios/index.js';

/** 126704: its membership-2015 election split the votes round after round for more than 5 s (the wait was too short). */
const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8, 126704, 2 ** 31 - 1];

let run: ScenarioRun | null = null;
afterEach(async () => {
  await run?.close();
  run = null;
});

async function playThrough(id: string, seed: number) {
  run = await ScenarioRun.start(findScenario(id)!, seed);
  let view = run.view();
  while (!view.finished) view = await run.next();
  return view;
}

describe('guided scenarios', () => {
  for (const scenario of scenarios) {
    it(`${scenario.id}: every step's checks hold (seeds ${SEEDS.join(', ')})`, async () => {
      for (const seed of SEEDS) {
        const view = await playThrough(scenario.id, seed);
        const failures = view.steps.flatMap((step) => [
          ...(step.error ? [`${step.title}: ${step.error}`] : []),
          ...(step.checks ?? []).filter((c) => !c.ok).map((c) => `${step.title}: ${c.label}`),
        ]);
        expect(failures, `seed ${seed}`).toEqual([]);
        expect(view.steps.every((step) => (step.checks ?? []).length > 0 && step.narration && step.watch)).toBe(true);
        await run!.close();
        run = null;
      }
    });
  }

  it('plays the same way for the same seed', async () => {
    const first = await playThrough('split-vote', 9);
    await run!.close();
    run = null;
    expect(await playThrough('split-vote', 9)).toEqual(first);
  });

  it('plays the same with a pacer (the console watches steps unfold), which is called as time moves', async () => {
    const unpaced = await playThrough('figure-8', 5);
    await run!.close();
    let starts = 0;
    let paced = 0;
    run = await ScenarioRun.start(findScenario('figure-8')!, 5, {
      pacer: { stepStarted: () => void starts++, after: async (ms) => void (paced += ms) },
    });
    let view = run.view();
    while (!view.finished) view = await run.next();
    expect(view).toEqual(unpaced);
    expect(starts).toBe(view.steps.length);
    // Every slice of simulated time a step moved, and no more than the clock moved in all.
    expect(paced).toBeGreaterThan(0);
    expect(paced).toBeLessThanOrEqual(run.cluster.clock.now());
  });

  it('reports a step that did not get where it meant to as failed, with the reason, instead of throwing', async () => {
    const broken: Scenario = {
      id: 'broken',
      title: 'Broken',
      summary: 'A step whose act and checks throw.',
      nodes: ['n1'],
      preVote: false,
      checkQuorum: false,
      steps: [
        {
          title: 'throws',
          watch: 'nothing',
          act: async () => {
            throw new Error('no leader within the wait');
          },
          narration: (s) => `the leader is ${String(s.facts.leader).toUpperCase()}`,
          expect: () => {
            throw new Error('nothing to check');
          },
        },
      ],
    };
    run = await ScenarioRun.start(broken, 1);
    const view = await run.next();
    expect(view.steps[0]).toMatchObject({ status: 'done', error: 'no leader within the wait', checks: [{ ok: false }] });
  });

  it('shows the steps ahead before playing them, and refuses to play past the last', async () => {
    run = await ScenarioRun.start(findScenario('leader-crash')!, 1);
    const before = run.view();
    expect(before.played).toBe(0);
    expect(before.steps.map((s) => s.status)).toEqual(['next', ...before.steps.slice(1).map(() => 'later')]);
    expect(before.steps[0].narration).toBeUndefined();
    const after = await run.next();
    expect(after.steps[0].status).toBe('done');
    expect(after.steps[1].status).toBe('next');
    while (!run.finished) await run.next();
    await expect(run.next()).rejects.toThrow(/no more steps/);
  });

  it('the unsafe membership path is called from core/scenarios alone', () => {
    const root = join(__dirname, '../../..');
    const sources: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (/\.(ts|vue)$/.test(name)) sources.push(path);
      }
    };
    for (const top of ['core', 'electron', 'renderer/src']) walk(join(root, top));
    const callers = sources
      .filter((file) => /changeMembershipUnsafe|proposeConfChangeUnsafe|changeUnsafe\(/.test(readFileSync(file, 'utf8')))
      .map((file) => relative(root, file))
      .sort();
    // Where it is defined (raft, rawnode, raft-node) and the scenarios that use it; nothing else.
    expect(callers).toEqual(['core/node/raft-node.ts', 'core/raft/raft.ts', 'core/raft/rawnode.ts', 'core/scenarios/stage.ts', 'core/scenarios/two-at-once.ts']);
  });
});
