import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../core/clock.js';
import { seededRandom } from '../../../core/random.js';
import { EntryType, MessageType } from '../../../core/raft/types.js';
import type { Message, NodeId } from '../../../core/raft/types.js';
import { MemoryNetwork } from '../../../core/transport/memory.js';
import type { MemoryNetworkOptions, NetworkEvent } from '../../../core/transport/memory.js';
import type { Transport } from '../../../core/transport/types.js';

function msg(from: NodeId, to: NodeId, index = 0, type = MessageType.Heartbeat): Message {
  return { type, from, to, term: 1, logTerm: 0, index, entries: [], commit: 0, reject: false, rejectHint: 0 };
}

interface Harness {
  clock: ManualClock;
  net: MemoryNetwork;
  nodes: Record<NodeId, Transport>;
  inbox: Record<NodeId, Message[]>;
  events: NetworkEvent[];
}

function harness(ids: NodeId[], options: Partial<MemoryNetworkOptions> = {}): Harness {
  const clock = new ManualClock();
  const net = new MemoryNetwork({ clock, random: seededRandom(1), ...options });
  const nodes: Record<NodeId, Transport> = {};
  const inbox: Record<NodeId, Message[]> = {};
  const events: NetworkEvent[] = [];
  net.onEvent((e) => events.push(e));
  for (const id of ids) {
    nodes[id] = net.connect(id);
    inbox[id] = [];
    nodes[id].onMessage((m) => inbox[id].push(m));
  }
  return { clock, net, nodes, inbox, events };
}

describe('MemoryNetwork', () => {
  it('delivers a copy of each message once its latency has passed on the clock', () => {
    const { clock, nodes, inbox } = harness(['a', 'b'], { latency: { min: 5, max: 5 } });
    const sent: Message = {
      ...msg('a', 'b', 7, MessageType.App),
      entries: [{ term: 1, index: 8, type: EntryType.Normal, data: new Uint8Array([1, 2]) }],
    };
    nodes.a.send([sent]);
    clock.advance(4);
    expect(inbox.b).toEqual([]);
    clock.advance(1);
    expect(inbox.b).toEqual([sent]);
    expect(inbox.b[0]).not.toBe(sent);
    expect(inbox.b[0].entries[0].data).not.toBe(sent.entries[0].data);
  });

  it('draws latencies within [min, max] and delivers by arrival time, ties in send order', () => {
    const { clock, net, nodes, inbox } = harness(['a', 'b'], { latency: { min: 3, max: 9 } });
    nodes.a.send(Array.from({ length: 200 }, (_, i) => msg('a', 'b', i)));
    const flying = net.inFlight();
    const delays = flying.map((m) => m.deliverAt - m.sentAt);
    expect(Math.min(...delays)).toBe(3);
    expect(Math.max(...delays)).toBe(9);
    clock.advance(9);
    const arrivalOrder = inbox.b.map((m) => m.index);
    // Ids follow send order, so a message's index is its id minus the first id.
    const firstId = Math.min(...flying.map((m) => m.id));
    const expected = [...flying].sort((x, y) => x.deliverAt - y.deliverAt || x.id - y.id).map((m) => m.id - firstId);
    expect(arrivalOrder).toEqual(expected);
    expect(arrivalOrder).not.toEqual([...arrivalOrder].sort((x, y) => x - y));
  });

  it('lists messages in flight with their types until they arrive', () => {
    const { clock, net, nodes } = harness(['a', 'b', 'c'], { latency: { min: 2, max: 10 } });
    clock.advance(100);
    nodes.a.send([msg('a', 'b', 1, MessageType.Vote), msg('a', 'c', 1, MessageType.Vote)]);
    nodes.b.send([msg('b', 'a', 0, MessageType.AppResp)]);
    const flying = net.inFlight();
    expect(flying.map((m) => [m.from, m.to, m.type]).sort()).toEqual(
      [
        ['a', 'b', MessageType.Vote],
        ['a', 'c', MessageType.Vote],
        ['b', 'a', MessageType.AppResp],
      ].sort(),
    );
    for (const m of flying) {
      expect(m.sentAt).toBe(100);
      expect(m.deliverAt).toBeGreaterThanOrEqual(102);
      expect(m.deliverAt).toBeLessThanOrEqual(110);
      expect(m.summary).toContain(m.type);
      expect(m.bytes).toBeGreaterThan(0);
    }
    expect(flying.map((m) => m.deliverAt)).toEqual([...flying.map((m) => m.deliverAt)].sort((x, y) => x - y));
    clock.advance(10);
    expect(net.inFlight()).toEqual([]);
  });

  it('partitions cut traffic between groups and heal restores it', () => {
    const { clock, net, nodes, inbox, events } = harness(['a', 'b', 'c']);
    net.partition([['a', 'b'], ['c']]);
    expect(net.partitions()).toEqual([['a', 'b'], ['c']]);
    nodes.a.send([msg('a', 'b', 1), msg('a', 'c', 1)]);
    nodes.c.send([msg('c', 'a', 1)]);
    clock.advance(20);
    expect(inbox.b.map((m) => m.index)).toEqual([1]);
    expect(inbox.c).toEqual([]);
    expect(inbox.a).toEqual([]);
    expect(events.filter((e) => e.kind === 'drop').map((e) => [e.from, e.to, e.reason])).toEqual([
      ['a', 'c', 'partition'],
      ['c', 'a', 'partition'],
    ]);
    net.heal();
    expect(net.partitions()).toEqual([]);
    nodes.a.send([msg('a', 'c', 2)]);
    nodes.c.send([msg('c', 'a', 2)]);
    clock.advance(20);
    expect(inbox.c.map((m) => m.index)).toEqual([2]);
    expect(inbox.a.map((m) => m.index)).toEqual([2]);
  });

  it('loses messages already on their way when a partition starts', () => {
    const { clock, net, nodes, inbox, events } = harness(['a', 'b']);
    nodes.a.send([msg('a', 'b', 1)]);
    net.partition([['a'], ['b']]);
    clock.advance(20);
    expect(inbox.b).toEqual([]);
    expect(events.map((e) => [e.kind, e.reason])).toEqual([
      ['send', undefined],
      ['drop', 'partition'],
    ]);
  });

  it('cuts one direction of a link at a time', () => {
    const { clock, net, nodes, inbox } = harness(['a', 'b']);
    net.drop('a', 'b', true);
    nodes.a.send([msg('a', 'b', 1)]);
    nodes.b.send([msg('b', 'a', 1)]);
    clock.advance(20);
    expect(inbox.b).toEqual([]);
    expect(inbox.a.map((m) => m.index)).toEqual([1]);
    net.drop('a', 'b', false);
    nodes.a.send([msg('a', 'b', 2)]);
    clock.advance(20);
    expect(inbox.b.map((m) => m.index)).toEqual([2]);
  });

  it('isolates a node from everyone until healed', () => {
    const { clock, net, nodes, inbox } = harness(['a', 'b', 'c']);
    net.isolate('a');
    nodes.a.send([msg('a', 'b', 1)]);
    nodes.b.send([msg('b', 'a', 1), msg('b', 'c', 1)]);
    clock.advance(20);
    expect([inbox.a, inbox.b]).toEqual([[], []]);
    expect(inbox.c.map((m) => m.index)).toEqual([1]);
    net.heal();
    nodes.b.send([msg('b', 'a', 2)]);
    clock.advance(20);
    expect(inbox.a.map((m) => m.index)).toEqual([2]);
  });

  it('replays the same delivered sequence for the same seed and drop rate', () => {
    // Twenty counters hop between three nodes; drops and latencies decide the interleaving.
    function run(seed: number): string[] {
      const { clock, nodes, events } = harness(['a', 'b', 'c'], { random: seededRandom(seed), dropRate: 0.05 });
      const ids = Object.keys(nodes);
      const delivered: string[] = [];
      for (const id of ids) {
        nodes[id].onMessage((m) => {
          delivered.push(`${clock.now()} ${m.from}->${m.to} #${m.term}.${m.index}`);
          const next = m.index % 2 === 0 ? m.from : ids.find((p) => p !== id && p !== m.from)!;
          if (m.index < 30) nodes[id].send([{ ...msg(id, next, m.index + 1), term: m.term }]);
        });
      }
      nodes.a.send(Array.from({ length: 20 }, (_, chain) => ({ ...msg('a', chain % 2 ? 'b' : 'c', 0), term: chain })));
      clock.advance(1000);
      expect(events.some((e) => e.reason === 'rate')).toBe(true);
      return delivered;
    }
    const first = run(42);
    expect(first.length).toBeGreaterThan(100);
    expect(run(42)).toEqual(first);
    expect(run(43)).not.toEqual(first);
  });

  it('drops about the configured share of messages', () => {
    const { clock, nodes, inbox, net } = harness(['a', 'b'], { random: seededRandom(7) });
    net.setDropRate(0.25);
    nodes.a.send(Array.from({ length: 2000 }, (_, i) => msg('a', 'b', i)));
    clock.advance(20);
    expect(inbox.b.length).toBeGreaterThan(1350);
    expect(inbox.b.length).toBeLessThan(1650);
  });

  it('emits send, deliver and drop events with message types, until unsubscribed', () => {
    const { clock, net, nodes } = harness(['a', 'b'], { latency: { min: 1, max: 1 } });
    const seen: string[] = [];
    const unsubscribe = net.onEvent((e) => seen.push(`${e.kind} ${e.type} ${e.from}->${e.to} @${e.at}`));
    nodes.a.send([msg('a', 'b', 1, MessageType.Snap)]);
    clock.advance(1);
    net.drop('b', 'a', true);
    nodes.b.send([msg('b', 'a', 1, MessageType.AppResp)]);
    expect(seen).toEqual(['send Snap a->b @0', 'deliver Snap a->b @1', 'drop AppResp b->a @1']);
    unsubscribe();
    nodes.a.send([msg('a', 'b', 2)]);
    clock.advance(1);
    expect(seen).toHaveLength(3);
  });

  it('drops a chosen message in flight', () => {
    const { clock, net, nodes, inbox, events } = harness(['a', 'b']);
    nodes.a.send([msg('a', 'b', 1), msg('a', 'b', 2)]);
    const [first] = net.inFlight();
    expect(net.dropMessage(first.id)).toBe(true);
    expect(net.dropMessage(first.id)).toBe(false);
    clock.advance(20);
    expect(inbox.b).toHaveLength(1);
    expect(events.find((e) => e.kind === 'drop')).toMatchObject({ id: first.id, reason: 'manual' });
  });

  it('a closed transport stops receiving, its peers learn it is unreachable, and it can restart', async () => {
    const { clock, net, nodes, inbox } = harness(['a', 'b']);
    const unreachable: NodeId[] = [];
    nodes.a.onUnreachable!((peer) => unreachable.push(peer));
    nodes.a.send([msg('a', 'b', 1)]);
    await nodes.b.close();
    expect(net.inFlight()).toEqual([]);
    nodes.a.send([msg('a', 'b', 2), msg('a', 'b', 3)]);
    expect(unreachable).toEqual([]);
    clock.advance(20);
    expect(inbox.b).toEqual([]);
    expect(unreachable).toEqual(['b']);
    expect(() => net.connect('a')).toThrow(/already connected/);

    const restarted = net.connect('b');
    const received: number[] = [];
    restarted.onMessage((m) => received.push(m.index));
    nodes.a.send([msg('a', 'b', 4)]);
    nodes.b.send([msg('b', 'a', 5)]);
    clock.advance(20);
    expect(received).toEqual([4]);
    expect(inbox.a).toEqual([]);
  });

  it('rejects bad settings with clear errors and keeps the old ones', () => {
    const { clock, net, nodes, inbox } = harness(['a', 'b', 'c']);
    expect(() => net.partition([['a', 'b'], ['b', 'c']])).toThrow(/b is listed in more than one/);
    expect(() => net.setDropRate(1.5)).toThrow(RangeError);
    expect(() => net.setDropRate(Number.NaN)).toThrow(RangeError);
    expect(() => net.setLatency({ min: 5, max: 2 })).toThrow(/0 <= min <= max/);
    expect(() => new MemoryNetwork({ clock, random: Math.random, latency: { min: -1, max: 2 } })).toThrow(RangeError);
    nodes.a.send([msg('a', 'b', 1), msg('a', 'c', 1)]);
    clock.advance(10);
    expect([inbox.b.length, inbox.c.length]).toEqual([1, 1]);
  });
});
