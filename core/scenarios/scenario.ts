// What a guided scenario is: a cluster shape, a seed, and steps. Each step acts on the real core
// (time, messages, crashes, proposals), then says what happened and checks it, so the story told
// is always the one the core just played.
import type { NodeId } from '../raft/types.js';
import type { ScenarioStage } from './stage.js';

/** One expectation after a step: what should hold, and whether it does. */
export interface ScenarioCheck {
  label: string;
  ok: boolean;
}

export interface ScenarioStep {
  title: string;
  /** What to look at in the views while this step plays. */
  watch: string;
  /** What the step does to the cluster (moves time, cuts links, crashes, proposes…). */
  act(stage: ScenarioStage): Promise<void>;
  /** What to watch and why it is safe (or, in the unsafe scenario, why it is not), with the names the run produced. */
  narration(stage: ScenarioStage): string;
  /** Checked right after act(): the core did what the narration says. */
  expect(stage: ScenarioStage): ScenarioCheck[];
}

export interface Scenario {
  id: string;
  title: string;
  /** What it shows, before the first step. */
  summary: string;
  /** The nodes the cluster starts with (all voters); steps may add more. */
  nodes: NodeId[];
  /** PreVote and CheckQuorum as raftd runs them (true), or Raft as the paper tells it (false). */
  preVote: boolean;
  checkQuorum: boolean;
  steps: ScenarioStep[];
}

/**
 * How long a step waits for an election to end. Elections are certain only eventually: with fixed
 * latency and ticks in step, timers can fire together and split the votes several rounds in a row
 * when every up voter's vote is needed.
 */
export const LEADER_WITHIN_MS = 30_000;

/** A check that compares what the cluster shows with what it should: the label carries both when they differ. */
export function check(label: string, actual: unknown, expected: unknown): ScenarioCheck {
  const ok = JSON.stringify(actual) === JSON.stringify(expected);
  return { label: ok ? label : `${label} (expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)})`, ok };
}

export function truth(label: string, ok: boolean): ScenarioCheck {
  return { label, ok };
}
