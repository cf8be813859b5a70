// Keyboard shortcuts: which key does what. Digits switch views; letters act on the current cluster.
import { views, viewTitles, viewKey, type ViewName } from './route';

export type ShortcutAction =
  | { kind: 'go'; view: ViewName }
  | { kind: 'toggleTheme' }
  | { kind: 'toggleClock' }
  | { kind: 'stepClock' }
  | { kind: 'help' }
  | { kind: 'refresh' };

export interface Shortcut {
  keys: string;
  description: string;
  action: ShortcutAction;
}

export const shortcuts: readonly Shortcut[] = [
  ...views.map((view, i) => ({ keys: viewKey(i), description: `Open ${viewTitles[view]}`, action: { kind: 'go' as const, view } })).filter((s) => s.keys !== ''),
  { keys: 't', description: 'Toggle light / dark theme', action: { kind: 'toggleTheme' } },
  { keys: 'space', description: 'Pause / run simulated time (embedded clusters)', action: { kind: 'toggleClock' } },
  { keys: 's', description: 'Advance simulated time by one step', action: { kind: 'stepClock' } },
  { keys: 'r', description: 'Refresh the current cluster', action: { kind: 'refresh' } },
  { keys: '?', description: 'Show these shortcuts', action: { kind: 'help' } },
];

export interface KeyLike {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
  /** Tag of the focused element: typing in a field never triggers a shortcut. */
  targetTag?: string;
  targetEditable?: boolean;
}

export function shortcutFor(event: KeyLike): ShortcutAction | undefined {
  if (event.ctrlKey || event.metaKey || event.altKey) return undefined;
  const tag = event.targetTag?.toLowerCase();
  if (event.targetEditable || tag === 'input' || tag === 'textarea' || tag === 'select') return undefined;
  const key = event.key === ' ' ? 'space' : event.key.toLowerCase();
  return shortcuts.find((s) => s.keys === key)?.action;
}
