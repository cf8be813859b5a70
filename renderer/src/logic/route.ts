// The current view lives in the URL hash (#/dashboard/<clusterId>) so reloads and links keep the place.
export const views = [
  'clusters',
  'dashboard',
  'log',
  'timeline',
  'membership',
  'faults',
  'kv',
  'nodeLogs',
  'activity',
  'hosts',
  'scenarios',
] as const;

export type ViewName = (typeof views)[number];

/** The digit that opens the i-th view: 1…9, then 0 for the tenth; '' (no key) after that. */
export function viewKey(i: number): string {
  return i < 10 ? String((i + 1) % 10) : '';
}

export const viewTitles: Record<ViewName, string> = {
  clusters: 'Clusters',
  dashboard: 'Dashboard',
  log: 'Log inspector',
  timeline: 'Term timeline',
  membership: 'Membership',
  faults: 'Faults',
  kv: 'KV console',
  nodeLogs: 'Node logs',
  activity: 'Activity',
  hosts: 'Hosts',
  scenarios: 'Scenarios',
};

/** Views that show one cluster; the others are global. */
export const clusterViews: ReadonlySet<ViewName> = new Set(['dashboard', 'log', 'timeline', 'membership', 'faults', 'kv', 'nodeLogs']);

export interface Route {
  view: ViewName;
  clusterId: string | null;
}

export function parseRoute(hash: string): Route | null {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  const view = parts[0] as ViewName | undefined;
  if (!view || !views.includes(view)) return null;
  return { view, clusterId: parts[1] ?? null };
}

export function formatRoute(route: Route): string {
  return route.clusterId ? `#/${route.view}/${encodeURIComponent(route.clusterId)}` : `#/${route.view}`;
}
