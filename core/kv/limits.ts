// How large a key and a value may be, in UTF-8 bytes: raftd's HTTP API, the console API and the
// console's KV form all refuse by these (a value is one log entry, replicated to every node).
export const MAX_KEY_BYTES = 4096;
export const MAX_VALUE_BYTES = 1024 * 1024;

const encoder = new TextEncoder();

export function utf8Bytes(text: string): number {
  return encoder.encode(text).length;
}

function size(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / (1024 * 1024)).toFixed(bytes % (1024 * 1024) ? 2 : 0)} MiB` : bytes >= 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${bytes} bytes`;
}

/** Why a value cannot be stored, in plain words; null when it fits. */
export function valueTooLarge(value: string): string | null {
  const bytes = utf8Bytes(value);
  return bytes > MAX_VALUE_BYTES ? `The value is ${size(bytes)}; a value can be at most ${size(MAX_VALUE_BYTES)}.` : null;
}

/** Why a key cannot be used, in plain words; null when it fits. */
export function keyTooLarge(key: string): string | null {
  const bytes = utf8Bytes(key);
  return bytes > MAX_KEY_BYTES ? `The key is ${size(bytes)}; a key can be at most ${size(MAX_KEY_BYTES)}.` : null;
}
