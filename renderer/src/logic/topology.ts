// Node positions for the topology drawing and which links a partition cuts.
export interface Point {
  x: number;
  y: number;
}

export function circleLayout(ids: readonly string[], width: number, height: number, margin = 60): Record<string, Point> {
  const cx = width / 2;
  const cy = height / 2;
  const r = Math.max(0, Math.min(width, height) / 2 - margin);
  const out: Record<string, Point> = {};
  ids.forEach((id, i) => {
    if (ids.length === 1) {
      out[id] = { x: cx, y: cy };
      return;
    }
    const angle = -Math.PI / 2 + (2 * Math.PI * i) / ids.length;
    out[id] = { x: cx + r * Math.cos(angle), y: cy + r * Math.sin(angle) };
  });
  return out;
}

export function lerp(a: Point, b: Point, t: number): Point {
  return { x: a.x + (b.x - a.x) * t, y: a.y + (b.y - a.y) * t };
}

export interface Link {
  a: string;
  b: string;
  cut: boolean;
}

/** Every pair of nodes; a pair is cut when a partition puts them on different sides, or a link between them is cut either way. */
export function links(
  ids: readonly string[],
  partitions: readonly (readonly string[])[] | undefined,
  cutLinks: readonly { from: string; to: string }[] = [],
): Link[] {
  const side = new Map<string, number>();
  (partitions ?? []).forEach((group, i) => group.forEach((id) => side.set(id, i)));
  const cutPairs = new Set(cutLinks.flatMap((l) => [`${l.from}|${l.to}`, `${l.to}|${l.from}`]));
  const out: Link[] = [];
  for (let i = 0; i < ids.length; i++) {
    for (let j = i + 1; j < ids.length; j++) {
      const sa = side.get(ids[i]);
      const sb = side.get(ids[j]);
      const partitioned = sa !== undefined && sb !== undefined && sa !== sb;
      out.push({ a: ids[i], b: ids[j], cut: partitioned || cutPairs.has(`${ids[i]}|${ids[j]}`) });
    }
  }
  return out;
}

/** Fraction of the election timeout that is used up, 0..1; undefined when the node reports none. */
export function electionTimerFraction(elapsed: number | undefined, timeout: number | undefined): number | undefined {
  if (elapsed === undefined || timeout === undefined || timeout <= 0) return undefined;
  return Math.min(1, Math.max(0, elapsed / timeout));
}

/** The segment from a to b with `by` cut off at each end: messages travel between node edges, not centers. */
export function trimSegment(a: Point, b: Point, by: number): [Point, Point] {
  const length = Math.hypot(b.x - a.x, b.y - a.y);
  if (length <= 2 * by) {
    const mid = lerp(a, b, 0.5);
    return [mid, mid];
  }
  const t = by / length;
  return [lerp(a, b, t), lerp(a, b, 1 - t)];
}
