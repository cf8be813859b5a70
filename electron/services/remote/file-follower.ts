// Following a growing file by polling its size and reading what was appended. Used by both shells so a
// local file and a file over SFTP behave the same: exact byte offsets (a lost link resumes where it
// stopped), a file that shrinks (rotated or truncated) is read again from its start.
import { StringDecoder } from 'node:string_decoder';
import { RemoteError, type FileFollower, type FollowOptions } from './remote-shell.js';

export interface PolledFile {
  /** Current size, or null when the file does not exist (yet). */
  size(): Promise<number | null>;
  /** Reads up to `length` bytes at `offset`. */
  read(offset: number, length: number): Promise<Buffer>;
}

export const FOLLOW_POLL_MS = 500;
const READ_CHUNK = 256 * 1024;

/** Errors that mean "try again later" (link down) rather than "give up". */
export type IsTransient = (error: unknown) => boolean;

export function followByPolling(
  file: PolledFile,
  onChunk: (text: string) => void,
  opts: FollowOptions & { pollMs?: number; isTransient: IsTransient },
): FileFollower {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let offset: number | undefined = typeof opts.from === 'number' ? opts.from : opts.from === 'start' ? 0 : undefined;
  let decoder = new StringDecoder('utf8');
  const pollMs = opts.pollMs ?? FOLLOW_POLL_MS;

  const poll = async (): Promise<void> => {
    const size = await file.size();
    if (size === null) return;
    if (offset === undefined) offset = size;
    if (size < offset) {
      offset = 0;
      decoder = new StringDecoder('utf8');
    }
    while (!stopped && offset < size) {
      const bytes = await file.read(offset, Math.min(READ_CHUNK, size - offset));
      if (bytes.length === 0) break;
      offset += bytes.length;
      const text = decoder.write(bytes);
      if (text && !stopped) onChunk(text);
    }
  };

  const loop = (): void => {
    if (stopped) return;
    poll().then(
      () => schedule(),
      (error: unknown) => {
        if (stopped) return;
        if (opts.isTransient(error)) return schedule();
        stopped = true;
        const remote = error instanceof RemoteError ? error : new RemoteError('io', `cannot follow the file: ${(error as Error).message}`);
        opts.onError?.(remote);
      },
    );
  };
  const schedule = (): void => {
    if (!stopped) timer = setTimeout(loop, pollMs);
  };
  loop();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
