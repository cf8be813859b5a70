// Plays a scenario on a fresh embedded cluster, one step per next(): the one way through the steps,
// for the headless tests and the console alike.
import { EmbeddedCluster, type EmbeddedClusterOptions } from '../node/embedded.js';
import type { Scenario, ScenarioCheck } from './scenario.js';
import { ScenarioStage, type Pacer } from './stage.js';

/** Scenario clusters deliver every message after exactly this many ms: elections and replication race only where a step makes them. */
export const SCENARIO_LATENCY_MS = 10;

export interface ScenarioStepView {
  title: string;
  /** What to look at while it plays. */
  watch: string;
  /** done: played (narration and checks below); next: the one "Next step" plays; later: not yet. */
  status: 'done' | 'next' | 'later';
  narration?: string;
  checks?: ScenarioCheck[];
  /** The step itself failed (an action threw); its checks then say what did not happen. */
  error?: string;
}

export interface ScenarioView {
  scenarioId: string;
  title: string;
  summary: string;
  seed: number;
  /** Steps played so far. */
  played: number;
  finished: boolean;
  steps: ScenarioStepView[];
}

export class ScenarioRun {
  private played = 0;
  private readonly outcomes: Array<{ narration: string; checks: ScenarioCheck[]; error?: string }> = [];
  private playing: Promise<unknown> = Promise.resolve();
  readonly stage: ScenarioStage;

  private constructor(
    readonly scenario: Scenario,
    readonly seed: number,
    readonly cluster: EmbeddedCluster,
    pacer: Pacer | undefined,
  ) {
    this.stage = new ScenarioStage(cluster, pacer);
  }

  /** A new cluster of the scenario's shape, time paused at 0, nothing played yet; `pacer` to watch steps as they play. */
  static async start(scenario: Scenario, seed: number, options: Pick<EmbeddedClusterOptions, 'logger'> & { pacer?: Pacer } = {}): Promise<ScenarioRun> {
    const cluster = await EmbeddedCluster.create({
      ids: scenario.nodes,
      seed,
      latency: { min: SCENARIO_LATENCY_MS, max: SCENARIO_LATENCY_MS },
      preVote: scenario.preVote,
      checkQuorum: scenario.checkQuorum,
      logger: options.logger,
    });
    return new ScenarioRun(scenario, seed, cluster, options.pacer);
  }

  get finished(): boolean {
    return this.played >= this.scenario.steps.length;
  }

  /** Plays the next step: its actions, then its checks. One at a time; the clock is paused while it plays. */
  next(): Promise<ScenarioView> {
    const play = this.playing.then(() => this.playNext());
    this.playing = play.catch(() => {});
    return play;
  }

  private async playNext(): Promise<ScenarioView> {
    if (this.finished) throw new Error(`scenario "${this.scenario.title}" has no more steps; restart it to play it again`);
    const step = this.scenario.steps[this.played];
    this.cluster.pause();
    this.stage.pacer?.stepStarted();
    let error: string | undefined;
    try {
      await step.act(this.stage);
    } catch (e) {
      error = (e as Error).message;
    }
    let narration = '';
    let checks: ScenarioCheck[];
    try {
      narration = step.narration(this.stage);
      checks = step.expect(this.stage);
    } catch (e) {
      // A step that did not get where it meant to can leave its narration and checks nothing to name.
      error ??= (e as Error).message;
      checks = [{ label: 'the step reached the state its checks look at', ok: false }];
    }
    this.outcomes.push({ narration, checks, ...(error && { error }) });
    this.played++;
    return this.view();
  }

  view(): ScenarioView {
    return {
      scenarioId: this.scenario.id,
      title: this.scenario.title,
      summary: this.scenario.summary,
      seed: this.seed,
      played: this.played,
      finished: this.finished,
      steps: this.scenario.steps.map((step, i) => ({
        title: step.title,
        watch: step.watch,
        status: i < this.played ? 'done' : i === this.played ? 'next' : 'later',
        ...this.outcomes[i],
      })),
    };
  }

  async close(): Promise<void> {
    await this.playing;
    await this.cluster.close();
  }
}
