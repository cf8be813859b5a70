// The trace store on disk: every state recorded reads back whole at its moment, the files stay within
// their bound as they rotate, and a torn last line (a console stopped mid-write) is ignored.
import { appendFileSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClusterState, TimelineEvent } from '../../../electron/shared/api.js';
import { TraceStore } from '../../../electron/services/trace-store.js';
import { makeNode, makeState } from '../../renderer/fakeApi.js';
import { tempDir } from '../helpers.js';

/** The i-th state of a made-up history: the term rises every 10 states, n1 and n2 take turns leading, entries grow. */
function stateNumber(i: number, timeline: TimelineEvent[] = []): ClusterState {
  const term = 1 + Math.floor(i / 10);
  const leader = term % 2 ? 'n1' : 'n2';
  const entries = Array.from({ length: Math.min(20, i + 1) }, (_, k) => ({ index: i + 1 - k, term, type: 'normal' as const, summary: `put k${i - k}` })).reverse();
  return makeState({
    at: 1_000_000 + i * 100,
    term,
    leader,
    timeline,
    nodes: ['n1', 'n2', 'n3'].map((id) =>
      makeNode({ id, role: id === leader ? 'leader' : 'follower', term, leader, lastIndex: i + 1, commitIndex: i, logTail: entries, electionElapsed: i % 7, ...(i % 5 === 0 && id === 'n3' && { error: 'slow' }) }),
    ),
    ...(i % 3 === 0 && { partitions: [['n1', 'n2'], ['n3']] }),
  });
}

describe('trace store', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });
  async function dir() {
    const d = await tempDir('trace-store-');
    cleanup.push(d.remove);
    return join(d.path, 'traces', 'demo');
  }

  it('reads back every recorded state at its moment, and the last one before a moment between frames', async () => {
    const store = TraceStore.open(await dir(), { keyEvery: 7 });
    const timeline: TimelineEvent[] = [];
    const recorded: ClusterState[] = [];
    for (let i = 0; i < 60; i++) {
      // The driver's timeline array grows in place: the store must keep what it was when recorded.
      if (i % 10 === 0) timeline.push({ at: i, term: 1 + i / 10, leader: '', kind: 'election-started', detail: `term ${1 + i / 10}` });
      const state = stateNumber(i, timeline);
      recorded.push(structuredClone(state));
      store.record(state);
    }
    for (let i = 0; i < 60; i++) {
      const moment = store.at(1_000_000 + i * 100);
      expect(moment?.t).toBe(1_000_000 + i * 100);
      expect(moment?.state).toEqual(recorded[i]);
    }
    expect(store.at(1_000_000 + 25 * 100 + 50)?.state).toEqual(recorded[25]);
    expect(store.at(999_999)).toBeNull();
    expect(store.range()).toMatchObject({ first: 1_000_000, last: 1_000_000 + 59 * 100, frames: 60 });

    // A fresh store over the same folder finds the same history, and appends after it in a new segment.
    store.close();
    const reopened = TraceStore.open(store.dir, { keyEvery: 7 });
    expect(reopened.at(1_000_000 + 42 * 100)?.state).toEqual(recorded[42]);
    reopened.record(stateNumber(60));
    expect(reopened.at(1_000_000 + 60 * 100)?.state).toEqual(stateNumber(60));
    expect(readdirSync(store.dir).filter((n) => n.endsWith('.ndjson'))).toHaveLength(2);
    reopened.close();
  });

  it('stays within its size bound by deleting the oldest segments, each of which still reads on its own', async () => {
    const segmentBytes = 8 * 1024;
    const maxBytes = 32 * 1024;
    const store = TraceStore.open(await dir(), { segmentBytes, maxBytes, keyEvery: 20 });
    for (let i = 0; i < 2000; i++) store.record(stateNumber(i));
    const files = readdirSync(store.dir).filter((n) => n.endsWith('.ndjson'));
    const total = files.reduce((n, f) => n + statSync(join(store.dir, f)).size, 0);
    // At most the bound, plus one line over the segment size for the segment being written.
    expect(total).toBeLessThanOrEqual(maxBytes + segmentBytes);
    expect(files.length).toBeGreaterThan(2);
    const range = store.range()!;
    expect(range.last).toBe(1_000_000 + 1999 * 100);
    expect(range.first).toBeGreaterThan(1_000_000);
    // The oldest kept moment reads whole, and nothing before it is invented.
    expect(store.at(range.first)?.state).toEqual(stateNumber((range.first - 1_000_000) / 100));
    expect(store.at(range.first - 1)).toBeNull();
    const middle = Math.round((range.first + range.last) / 200 - 10_000);
    expect(store.at(1_000_000 + middle * 100)?.state).toEqual(stateNumber(middle));
    store.close();
  });

  it('folders are 0700 and files 0600', async () => {
    const store = TraceStore.open(await dir());
    store.record(stateNumber(0));
    const [file] = readdirSync(store.dir);
    expect(statSync(store.dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(store.dir, file)).mode & 0o777).toBe(0o600);
    store.close();
  });

  it('ignores a torn last line, and a segment torn in its first line', async () => {
    const path = await dir();
    const store = TraceStore.open(path, { keyEvery: 4 });
    for (let i = 0; i < 10; i++) store.record(stateNumber(i));
    store.close();
    const [file] = readdirSync(path);
    const whole = readFileSync(join(path, file), 'utf8');
    // The console stopped in the middle of writing frame 10.
    appendFileSync(join(path, file), JSON.stringify({ t: 1_000_000 + 10 * 100, d: { set: { term: 99 } } }).slice(0, 25));
    writeFileSync(join(path, 'trace-00000099.ndjson'), '{"t":1000000,"key":{"clu');

    const reopened = TraceStore.open(path, { keyEvery: 4 });
    expect(reopened.range()).toMatchObject({ last: 1_000_000 + 9 * 100, frames: 10 });
    expect(reopened.at(1_000_000 + 10 * 100)?.state).toEqual(stateNumber(9));
    // The torn segments are left as they are; new frames go to a segment of their own after them.
    reopened.record(stateNumber(10));
    expect(reopened.at(1_000_000 + 10 * 100)?.state).toEqual(stateNumber(10));
    expect(readFileSync(join(path, file), 'utf8').startsWith(whole)).toBe(true);
    expect(readdirSync(path)).toContain('trace-00000100.ndjson');
    reopened.close();
  });

  it('keeps network events with the moment they lead to', async () => {
    const store = TraceStore.open(await dir());
    const message = (id: number) => ({ kind: 'send' as const, id, from: 'n1', to: 'n2', type: 'MsgApp', sentAt: id, deliverAt: id + 5, summary: 'entries', at: id });
    store.record(stateNumber(0));
    store.recordMessage(message(1), 1_000_050);
    store.record(stateNumber(1));
    store.recordMessage(message(2), 1_000_150);
    store.recordMessage(message(3), 1_000_160);
    store.record(stateNumber(2));
    expect(store.at(1_000_100)?.messages.map((m) => m.id)).toEqual([1]);
    expect(store.at(1_000_155)?.messages.map((m) => m.id)).toEqual([1, 2]);
    expect(store.at(1_000_200)?.messages.map((m) => m.id)).toEqual([2, 3]);
    store.close();
  });
});
