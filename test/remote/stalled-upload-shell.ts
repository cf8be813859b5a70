// A test host (a LocalShell home on this machine) whose uploads hang, as over a slow link, until cancelled.
import { LocalShell } from '../../electron/services/remote/local-shell.js';
import type { TransferOptions } from '../../electron/services/remote/remote-shell.js';

export class StalledUploadShell extends LocalShell {
  /** Settles once an upload has begun (and reported its first bytes). */
  readonly uploadStarted: Promise<void>;
  private started!: () => void;
  constructor(home: string) {
    super({ home, followPollMs: 100 });
    this.uploadStarted = new Promise((resolve) => (this.started = resolve));
  }
  override async upload(localPath: string, remotePath: string, opts: TransferOptions = {}): Promise<void> {
    opts.onProgress?.(4096, 400_000);
    this.started();
    await new Promise<void>((resolve) => {
      if (opts.signal?.aborted) resolve();
      opts.signal?.addEventListener('abort', () => resolve(), { once: true });
      setTimeout(resolve, 60_000).unref();
    });
    return super.upload(localPath, remotePath, opts);
  }
}
