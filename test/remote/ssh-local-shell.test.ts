import { mkdtemp, readFile, rm, stat, writeFile, appendFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalShell } from '../../electron/services/remote/local-shell.js';
import { MAX_EXEC_OUTPUT_BYTES, isRemoteError } from '../../electron/services/remote/remote-shell.js';

let home: string;
let shell: LocalShell;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'rc-local-shell-'));
  shell = new LocalShell({ home, followPollMs: 20 });
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

describe('LocalShell', () => {
  it('runs a command in the home directory with stdin, and returns both outputs and the exit code', async () => {
    const result = await shell.exec('pwd; cat; echo oops >&2; exit 3', { stdin: 'hello' });
    expect(result).toEqual({ code: 3, stdout: `${home}\nhello`, stderr: 'oops\n' });
  });

  it('reports a signal as a null code with the signal name', async () => {
    const result = await shell.exec('kill -TERM $$');
    expect(result.code).toBeNull();
    expect(result.signal).toBe('TERM');
  });

  it('ends a command at its timeout with a command-timeout error', async () => {
    const error = await shell.exec('sleep 20', { timeoutMs: 200 }).catch((e: unknown) => e);
    expect(isRemoteError(error, 'command-timeout')).toBe(true);
  });

  it('keeps output up to the bound and says it was truncated', async () => {
    const bytes = MAX_EXEC_OUTPUT_BYTES + 1000;
    const result = await shell.exec(`head -c ${bytes} /dev/zero`, { timeoutMs: 60_000 });
    expect(result.stdout.length).toBe(MAX_EXEC_OUTPUT_BYTES);
    expect(result.truncated).toBe(true);
  });

  it('uploads into the home with a mode and progress, then downloads it back', async () => {
    const source = join(home, 'source.bin');
    const content = Buffer.alloc(300_000, 7);
    await writeFile(source, content);
    const progress: number[] = [];
    await shell.upload(source, '~/deep/dir/copy.bin', { mode: 0o750, onProgress: (sent, total) => { expect(total).toBe(content.length); progress.push(sent); } });
    expect((await stat(join(home, 'deep/dir/copy.bin'))).mode & 0o777).toBe(0o750);
    expect(progress.at(-1)).toBe(content.length);
    await shell.download('deep/dir/copy.bin', join(home, 'back.bin'));
    expect((await readFile(join(home, 'back.bin'))).equals(content)).toBe(true);
  });

  it('a missing source is a not-found error', async () => {
    const error = await shell.download('nothing-here', join(home, 'x')).catch((e: unknown) => e);
    expect(isRemoteError(error, 'not-found')).toBe(true);
  });

  it('forwards a local port to the target port', async () => {
    const server = createServer((socket) => socket.end('pong'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const forward = await shell.forwardLocal(port);
    try {
      const reply = await new Promise<string>((resolve, reject) => {
        import('node:net').then(({ connect }) => {
          const socket = connect(forward.localPort, '127.0.0.1');
          let data = '';
          socket.on('data', (chunk) => (data += chunk)).on('end', () => resolve(data)).on('error', reject);
        });
      });
      expect(reply).toBe('pong');
    } finally {
      await forward.close();
      server.close();
    }
  });

  it('follows a file from an offset, through a truncation', async () => {
    const file = join(home, 'app.log');
    await writeFile(file, 'old\n');
    let seen = '';
    const follower = shell.followFile('app.log', (text) => (seen += text), { from: 'old\n'.length });
    try {
      await appendFile(file, 'one\n');
      await expect.poll(() => seen).toBe('one\n');
      await writeFile(file, 'x\n');
      await expect.poll(() => seen).toBe('one\nx\n');
    } finally {
      follower.stop();
    }
  });
});
