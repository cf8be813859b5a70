// Which key presses mean what in text boxes, decided here so every box behaves the same.
export interface KeyPress {
  key: string;
  shiftKey: boolean;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
  /** True while an input method is composing (Enter then confirms the composition). */
  isComposing?: boolean;
}

/** In a multi-line box that sends: Enter sends, Shift+Enter starts a new line. */
export function sendsOnEnter(press: KeyPress): boolean {
  return press.key === 'Enter' && !press.shiftKey && !press.ctrlKey && !press.metaKey && !press.altKey && !press.isComposing;
}

export const SEND_HINT = 'Enter sends · Shift+Enter adds a line';
