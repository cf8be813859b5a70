// The guided scenarios, in the order the console lists them.
import { figure8 } from './figure-8.js';
import { leaderCrash } from './leader-crash.js';
import { membership2015 } from './membership-2015.js';
import { oneAtATime } from './one-at-a-time.js';
import type { Scenario } from './scenario.js';
import { splitVote } from './split-vote.js';
import { staleLeader } from './stale-leader.js';
import { twoAtOnce } from './two-at-once.js';

export type { Scenario, ScenarioCheck, ScenarioStep } from './scenario.js';
export { ScenarioRun, type ScenarioStepView, type ScenarioView } from './run.js';
export type { Pacer } from './stage.js';

export const scenarios: readonly Scenario[] = [leaderCrash, splitVote, staleLeader, figure8, membership2015, twoAtOnce, oneAtATime];

export function findScenario(id: string): Scenario | undefined {
  return scenarios.find((s) => s.id === id);
}
