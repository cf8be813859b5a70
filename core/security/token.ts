// The cluster token as raftd and raftctl read it: from a file (so it is not in `ps`), the
// environment, or a flag. One line; the newline an editor or `echo` adds is not part of it.
import { readFileSync } from 'node:fs';

/** The token in `path`; throws an Error naming the file when it cannot be read, is empty or has several lines. */
export function readTokenFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read --token-file ${path}: ${(error as Error).message}`);
  }
  const token = text.replace(/\r?\n$/, '');
  if (token.length === 0) throw new Error(`--token-file ${path} is empty`);
  if (/[\r\n]/.test(token)) throw new Error(`--token-file ${path} holds more than one line`);
  return token;
}

/**
 * The token from --token or --token-file (at most one of them), else from RAFTD_TOKEN (empty
 * counts as unset); undefined when none gives one.
 */
export function resolveToken(flags: { token?: string; tokenFile?: string }, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (flags.token !== undefined && flags.tokenFile !== undefined) throw new Error('give the token once: --token or --token-file, not both');
  if (flags.tokenFile !== undefined) return readTokenFile(flags.tokenFile);
  if (flags.token !== undefined) {
    if (flags.token.length === 0) throw new Error('the token is empty');
    return flags.token;
  }
  return env.RAFTD_TOKEN || undefined;
}
