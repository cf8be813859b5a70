// The console's guided scenarios: each runs on an embedded cluster of its own (id scenario-<id>),
// which every other view shows like any cluster; this keeps each cluster's ScenarioRun for
// scenarios.next. Starting a scenario again replaces its cluster with a fresh one.
import type { EmbeddedCluster } from '../../../core/node/embedded.js';
import type { RaftLogger } from '../../../core/raft/types.js';
import { findScenario, ScenarioRun, scenarios, type Pacer, type Scenario, type ScenarioView } from '../../../core/scenarios/index.js';
import { ApiError } from '../../shared/api.js';
import type { ScenarioSummary } from '../../shared/api.js';
import type { ClusterRecord } from '../cluster-registry.js';

/** The cluster a scenario runs on: one per scenario, replaced when it starts again. */
export function scenarioClusterId(scenarioId: string): string {
  return `scenario-${scenarioId}`;
}

/** How fast a step plays for people to watch: simulated ms per wall-clock ms, until the step has taken maxWallMs. */
export interface ScenarioPace {
  speed: number;
  maxWallMs: number;
}

/** Slow enough to see each vote and entry fly (5 simulated ms a frame); a long wait then finishes at full speed. */
export const WATCH_PACE: ScenarioPace = { speed: 0.05, maxWallMs: 6000 };

/** Waits in wall-clock time after each slice of simulated time, within the step's budget. */
export function wallClockPacer(pace: ScenarioPace): Pacer {
  let started = 0;
  return {
    stepStarted: () => (started = Date.now()),
    after: (simulatedMs) =>
      Date.now() - started < pace.maxWallMs ? new Promise<void>((resolve) => setTimeout(resolve, simulatedMs / pace.speed)) : Promise.resolve(),
  };
}

export class ScenarioRuns {
  private readonly runs = new Map<string, ScenarioRun>();

  /** `pace`: how steps play in the console (null: at once, as in the headless tests). */
  constructor(private readonly pace: ScenarioPace | null = WATCH_PACE) {}

  list(): ScenarioSummary[] {
    return scenarios.map((s) => ({ id: s.id, title: s.title, summary: s.summary, steps: s.steps.length, nodes: s.nodes.length }));
  }

  scenario(scenarioId: string): Scenario {
    const scenario = findScenario(scenarioId);
    if (!scenario) throw new ApiError('not-found', `no scenario "${scenarioId}"; scenarios.list names them`);
    return scenario;
  }

  /** What a new cluster record for the scenario holds (the registry adds id, name and time). */
  define(scenarioId: string, seed: number): Pick<ClusterRecord, 'kind' | 'nodes' | 'seed' | 'scenario'> {
    const scenario = this.scenario(scenarioId);
    return { kind: 'embedded', nodes: scenario.nodes.map((id) => ({ id, kind: 'embedded' })), seed, scenario: scenario.id };
  }

  /** The cluster of a saved scenario record: a fresh run, at its first step, time paused. */
  async open(record: ClusterRecord, logger?: (id: string) => RaftLogger): Promise<EmbeddedCluster> {
    const run = await ScenarioRun.start(this.scenario(record.scenario ?? ''), record.seed ?? 1, { logger, ...(this.pace && { pacer: wallClockPacer(this.pace) }) });
    this.runs.set(record.id, run);
    return run.cluster;
  }

  /** The cluster was deleted (its driver closed the cluster). */
  forget(clusterId: string): void {
    this.runs.delete(clusterId);
  }

  view(clusterId: string): ScenarioView {
    return this.run(clusterId).view();
  }

  async next(clusterId: string): Promise<ScenarioView> {
    const run = this.run(clusterId);
    if (run.finished) throw new ApiError('conflict', `scenario "${run.scenario.title}" has played all its steps; start it again to replay it`);
    return run.next();
  }

  private run(clusterId: string): ScenarioRun {
    const run = this.runs.get(clusterId);
    if (!run) throw new ApiError('not-found', `cluster "${clusterId}" is not running a scenario`);
    return run;
  }
}
