// Where passphrases and passwords of host profiles live: never in the profiles file, never in plain
// text on disk. The desktop app injects an encrypt/decrypt pair (Electron's safeStorage, from
// electron/main: services do not import electron); web mode keeps secrets in memory only.
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { writePrivateFile } from './private-files.js';

export interface SecretStore {
  /** True when secrets survive a console restart. */
  readonly persistent: boolean;
  /** One sentence for the UI: where secrets are kept. */
  readonly description: string;
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string): Promise<void>;
  delete(key: string): Promise<void>;
}

/** What Electron's safeStorage provides (encryptString / decryptString). */
export interface SecretCipher {
  encrypt(plain: string): Buffer;
  decrypt(encrypted: Buffer): string;
}

export class MemorySecretStore implements SecretStore {
  readonly persistent = false;
  private readonly secrets = new Map<string, string>();

  constructor(
    readonly description = 'Passphrases and passwords are kept in memory only until the console stops; enter them again after a restart (web mode never writes them to disk).',
  ) {}

  async get(key: string): Promise<string | undefined> {
    return this.secrets.get(key);
  }
  async set(key: string, value: string): Promise<void> {
    this.secrets.set(key, value);
  }
  async delete(key: string): Promise<void> {
    this.secrets.delete(key);
  }
}

const secretsFileSchema = z.object({ version: z.literal(1), secrets: z.record(z.string(), z.string().max(64 * 1024)) });

/** Secrets encrypted by the injected cipher, in a 0600 file (base64 of the cipher's output). */
export class EncryptedSecretStore implements SecretStore {
  readonly persistent = true;
  private cache: Map<string, string> | undefined;
  private writes: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly file: string,
    private readonly cipher: SecretCipher,
    readonly description = 'Passphrases and passwords are encrypted with the operating system’s keychain (Electron safeStorage) and stored on this machine only.',
  ) {}

  private async load(): Promise<Map<string, string>> {
    if (this.cache) return this.cache;
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      text = '';
    }
    const parsed = text ? secretsFileSchema.safeParse(JSON.parse(text)) : null;
    if (parsed && !parsed.success) throw new Error(`${this.file} is not a secrets file: ${parsed.error.issues[0]?.message}`);
    this.cache = new Map(Object.entries(parsed?.data.secrets ?? {}));
    return this.cache;
  }

  private persist(): Promise<void> {
    const secrets = Object.fromEntries(this.cache ?? []);
    return writePrivateFile(this.file, JSON.stringify({ version: 1, secrets }, null, 2) + '\n');
  }

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const next = this.writes.then(work, work);
    this.writes = next.catch(() => undefined);
    return next;
  }

  async get(key: string): Promise<string | undefined> {
    const stored = (await this.load()).get(key);
    return stored === undefined ? undefined : this.cipher.decrypt(Buffer.from(stored, 'base64'));
  }

  set(key: string, value: string): Promise<void> {
    return this.serialized(async () => {
      (await this.load()).set(key, this.cipher.encrypt(value).toString('base64'));
      await this.persist();
    });
  }

  delete(key: string): Promise<void> {
    return this.serialized(async () => {
      const secrets = await this.load();
      if (!secrets.delete(key)) return;
      await this.persist();
    });
  }
}

/** The parts of Electron's safeStorage the console uses (typed here: services do not import electron). */
export interface SafeStorageLike {
  isEncryptionAvailable(): boolean;
  encryptString(plain: string): Buffer;
  decryptString(encrypted: Buffer): string;
  /** Linux only: 'basic_text' means no keychain, i.e. a fixed key: no protection. */
  getSelectedStorageBackend?(): string;
}

/**
 * The desktop app's store: encrypted by the OS keychain when there is one; otherwise memory only,
 * saying why (a fixed-key "encryption" would only look safe).
 */
export function desktopSecretStore(file: string, safeStorage: SafeStorageLike): SecretStore {
  const backend = safeStorage.getSelectedStorageBackend?.();
  if (!safeStorage.isEncryptionAvailable() || backend === 'basic_text') {
    return new MemorySecretStore(
      'No system keychain is available to encrypt secrets, so passphrases and passwords are kept in memory only until the console stops.',
    );
  }
  return new EncryptedSecretStore(file, { encrypt: (plain) => safeStorage.encryptString(plain), decrypt: (data) => safeStorage.decryptString(data) });
}
