// Deploying raftd to a host that has nothing but sshd (and, usually, Node): look first, copy only
// what is missing, report what changed (a second deploy uploads nothing). Everything lives under
// ~/.raft-console/ on the host: raftd-<sha256>/raftd-remote.mjs (the bundle, named by its hash) and,
// where the host has no Node >= 20 but the console's OS and CPU, node-<version>-<sha256>/node (the
// console's own runtime, uploaded only when asked: it is ~100 MB). Each deploy removes the older
// versions of both that no process on the host runs and no deploy has used for a day.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { ApiError } from '../../shared/api.js';
import { BUNDLE_NAME, raftdBundle, type RaftdBundle } from './deploy-bundle.js';
import { RemoteError, cancelledTransfer, isRemoteError, shellQuote, type RemoteShell } from './remote-shell.js';

export const MIN_NODE_MAJOR = 20;
/** The folder under the remote user's home that holds everything the console puts there. */
export const REMOTE_ROOT = '.raft-console';
/**
 * An older raftd or runtime folder is removed once no deploy has used it for this long (another
 * console, of another version, may have deployed it and not started its nodes yet) and no process
 * on the host runs it.
 */
export const STALE_VERSION_MINUTES = 24 * 60;

export interface HostFacts {
  /** `uname -s` and `uname -m`, as the host prints them ("Linux", "x86_64"). */
  os: string;
  arch: string;
  /** The remote user's home: remote paths the console builds are absolute under it. */
  home: string;
  /** Node as the user's login shell finds it; null when there is none. */
  node: { path: string; version: string } | null;
}

export interface RuntimeOffer {
  /** The console's own Node, for hosts with the same OS and CPU. */
  file: string;
  version: string;
  bytes: number;
}

export interface DeployPlan {
  host: string;
  facts: HostFacts;
  bundle: { sha256: string; bytes: number; present: boolean };
  /** How raftd will run there: the host's Node, or the console's runtime (present already or to upload). */
  runtime: { source: 'host'; path: string; version: string } | { source: 'uploaded'; version: string; bytes: number; present: boolean };
  /** Bytes a deploy would send now. */
  uploadBytes: number;
}

export interface DeployOptions {
  /** Opt-in: send the console's Node runtime to a host without Node >= 20. */
  uploadRuntime?: boolean;
  onProgress?: (what: string, sent: number, total: number) => void;
  /** Stops the deploy between steps and mid-upload (a cut upload leaves no file under its final name). */
  signal?: AbortSignal;
}

export interface Deployment {
  host: string;
  facts: HostFacts;
  /** Absolute paths on the host. */
  bundlePath: string;
  nodePath: string;
  sha256: string;
  /** Bytes sent by this deploy (0 when everything was there). */
  uploadedBytes: number;
  uploaded: string[];
  /** Older raftd and runtime folders this deploy removed (names under REMOTE_ROOT). */
  removed: string[];
}

const NODE_ARCH: Record<string, string> = { x86_64: 'x64', amd64: 'x64', aarch64: 'arm64', arm64: 'arm64', armv7l: 'arm' };

export function remoteBundleDir(sha256: string): string {
  return `${REMOTE_ROOT}/raftd-${sha256.slice(0, 16)}`;
}

/**
 * Reads OS, CPU, home and Node through the user's login shell (the PATH an interactive login would
 * have), and the sizes of files the caller asks about (home-relative paths): one round trip.
 */
export async function probeHost(shell: RemoteShell, sizesOf: string[] = []): Promise<HostFacts & { sizes: Array<number | null> }> {
  const sizes = sizesOf.map((path) => `s=$(wc -c < ${shellQuote(path)} 2>/dev/null) || s=-; echo "size $s"`).join('; ');
  const script = `uname -s; uname -m; printf "%s\\n" "$HOME"; p=$(command -v node 2>/dev/null) && printf "node %s %s\\n" "$("$p" -v 2>/dev/null)" "$p"; ${sizes}${sizes ? '; ' : ''}true`;
  const result = await shell.exec(`"\${SHELL:-/bin/sh}" -lc ${shellQuote(script)} </dev/null`, { timeoutMs: 20_000 });
  const lines = result.stdout.split('\n').map((l) => l.trim());
  const [os, arch, home] = lines;
  if (result.code !== 0 || !os || !arch || !home?.startsWith('/')) {
    throw new ApiError('unavailable', `${shell.label}: could not read the host's system (uname, $HOME): ${(result.stderr || result.stdout).trim() || `exit ${result.code}`}`);
  }
  const nodeLine = /^node (v\d+\.\S*) (\/.*)$/.exec(lines.find((l) => l.startsWith('node ')) ?? '');
  const node = nodeLine ? { path: nodeLine[2], version: nodeLine[1] } : null;
  const sizeLines = lines.filter((l) => l.startsWith('size ')).map((l) => Number(l.slice(5)));
  return { os, arch, home, node, sizes: sizesOf.map((_, i) => (Number.isFinite(sizeLines[i]) ? sizeLines[i] : null)) };
}

function nodeMajor(version: string): number {
  return Number(/^v(\d+)\./.exec(version)?.[1] ?? 0);
}

/** The console's own Node, if it can run on a host of this OS and CPU; else why not. */
export function runtimeFor(facts: HostFacts): { offer: RuntimeOffer } | { reason: string } {
  if (process.versions.electron) return { reason: 'the desktop app runs on Electron, whose binary is not a Node runtime that can be copied' };
  const os = facts.os.toLowerCase();
  const arch = NODE_ARCH[facts.arch] ?? facts.arch;
  if (os !== process.platform || arch !== process.arch) {
    return { reason: `the host is ${facts.os} ${facts.arch} and the console's Node is for ${process.platform} ${process.arch}` };
  }
  return { offer: { file: process.execPath, version: process.version, bytes: 0 } };
}

/** Memoised SHA-256 of local files (the runtime is ~100 MB: hashed once per process). */
const fileHashes = new Map<string, Promise<string>>();
function sha256OfFile(file: string): Promise<string> {
  let hash = fileHashes.get(file);
  if (!hash) {
    hash = new Promise<string>((resolve, reject) => {
      const h = createHash('sha256');
      createReadStream(file).on('data', (chunk) => h.update(chunk)).on('end', () => resolve(h.digest('hex'))).on('error', reject);
    });
    fileHashes.set(file, hash);
  }
  return hash;
}

async function remoteSize(shell: RemoteShell, path: string): Promise<number | null> {
  const result = await shell.exec(`wc -c < ${shellQuote(path)} 2>/dev/null`, { timeoutMs: 15_000 });
  const size = Number(result.stdout.trim());
  return result.code === 0 && result.stdout.trim() !== '' && Number.isFinite(size) ? size : null;
}

export class Deployer {
  /** One deploy per host at a time; a node start waits for its host's deploy. */
  private readonly running = new Map<string, Promise<Deployment>>();

  constructor(private readonly bundle: () => Promise<RaftdBundle> = raftdBundle) {}

  /** What a deploy would do on this host, without changing anything. Throws a precise ApiError when it cannot be deployed. */
  async plan(shell: RemoteShell, options: Pick<DeployOptions, 'uploadRuntime'> = {}): Promise<DeployPlan & { runtimeFile?: string; runtimePath: string }> {
    const bundle = await this.bundle();
    const probed = await probeHost(shell, [`${remoteBundleDir(bundle.sha256)}/${BUNDLE_NAME}`]);
    const { sizes, ...facts } = probed;
    if (facts.os !== 'Linux') throw new ApiError('refused', `${shell.label}: the host runs ${facts.os}; remote nodes need Linux (raftd's keeper reads /proc)`);
    const bundlePresent = sizes[0] === bundle.bytes;
    const base = { host: shell.label, facts, bundle: { sha256: bundle.sha256, bytes: bundle.bytes, present: bundlePresent } };

    if (facts.node && nodeMajor(facts.node.version) >= MIN_NODE_MAJOR) {
      const runtime = { source: 'host' as const, path: facts.node.path, version: facts.node.version };
      return { ...base, runtime, runtimePath: facts.node.path, uploadBytes: bundlePresent ? 0 : bundle.bytes };
    }
    const found = facts.node ? `Node ${facts.node.version} at ${facts.node.path}` : 'no node on the login PATH';
    const runtime = runtimeFor(facts);
    if ('reason' in runtime) {
      throw new ApiError('refused', `${shell.label}: raftd needs Node >= ${MIN_NODE_MAJOR} and the host has ${found}; ${runtime.reason}. Install Node ${MIN_NODE_MAJOR} or newer on the host.`);
    }
    const { file, version } = runtime.offer;
    const [bytes, sha] = await Promise.all([stat(file).then((s) => s.size), sha256OfFile(file)]);
    const runtimePath = `${facts.home}/${REMOTE_ROOT}/node-${version}-${sha.slice(0, 16)}/node`;
    const present = (await remoteSize(shell, runtimePath)) === bytes;
    if (!present && !options.uploadRuntime) {
      throw new ApiError(
        'refused',
        `${shell.label}: raftd needs Node >= ${MIN_NODE_MAJOR} and the host has ${found}. The console can upload its own Node ${version} for ${facts.os} ${facts.arch} (${mib(bytes)}): allow the console to upload it (uploadRuntime).`,
      );
    }
    return {
      ...base,
      runtime: { source: 'uploaded', version, bytes, present },
      runtimeFile: file,
      runtimePath,
      uploadBytes: (bundlePresent ? 0 : bundle.bytes) + (present ? 0 : bytes),
    };
  }

  /** Makes raftd runnable on the host; idempotent, one at a time per host. */
  deploy(shell: RemoteShell, options: DeployOptions = {}): Promise<Deployment> {
    const previous = this.running.get(shell.label) ?? Promise.resolve(null);
    const next = previous.catch(() => null).then(() => this.deployNow(shell, options));
    this.running.set(shell.label, next);
    void next.catch(() => undefined).finally(() => {
      if (this.running.get(shell.label) === next) this.running.delete(shell.label);
    });
    return next;
  }

  private async deployNow(shell: RemoteShell, options: DeployOptions): Promise<Deployment> {
    await whenConnected(shell);
    const plan = await this.plan(shell, options);
    const bundle = await this.bundle();
    const bundlePath = `${plan.facts.home}/${remoteBundleDir(bundle.sha256)}/${BUNDLE_NAME}`;
    const uploads: Array<{ what: string; from: string; to: string; mode: number }> = [];
    if (!plan.bundle.present) uploads.push({ what: 'raftd', from: bundle.file, to: bundlePath, mode: 0o644 });
    if (plan.runtime.source === 'uploaded' && !plan.runtime.present && plan.runtimeFile) {
      uploads.push({ what: `Node ${plan.runtime.version}`, from: plan.runtimeFile, to: plan.runtimePath, mode: 0o755 });
    }
    let uploadedBytes = 0;
    for (const upload of uploads) {
      if (options.signal?.aborted) throw cancelledTransfer(`the deploy to ${shell.label}`);
      const dir = upload.to.slice(0, upload.to.lastIndexOf('/'));
      await checked(shell, `mkdir -p -m 0700 ${shellQuote(`${plan.facts.home}/${REMOTE_ROOT}`)} && mkdir -p ${shellQuote(dir)}`, `create ${dir}`);
      let sent = 0;
      try {
        await shell.upload(upload.from, upload.to, {
          mode: upload.mode,
          ...(options.signal && { signal: options.signal }),
          onProgress: (bytes, total) => {
            sent = bytes;
            options.onProgress?.(upload.what, bytes, total);
          },
        });
      } catch (error) {
        if (isRemoteError(error, 'cancelled')) throw error;
        throw remoteFailure(shell, `uploading ${upload.what} to ${upload.to}`, error);
      } finally {
        uploadedBytes += sent;
      }
    }
    // What was sent must run there (a copied runtime can miss the host's libraries); what was found ran before.
    if (uploads.length > 0) await this.checkRuns(shell, plan.runtimePath, bundlePath);
    const inUse = [bundlePath, plan.runtimePath].map((path) => path.split('/').at(-2)!);
    return {
      host: shell.label,
      facts: plan.facts,
      bundlePath,
      nodePath: plan.runtimePath,
      sha256: bundle.sha256,
      uploadedBytes,
      uploaded: uploads.map((u) => u.what),
      removed: await removeStaleVersions(shell, inUse).catch(() => []), // tidying never fails a deploy
    };
  }

  private async checkRuns(shell: RemoteShell, runtimePath: string, bundlePath: string): Promise<void> {
    const check = await shell.exec(`${shellQuote(runtimePath)} ${shellQuote(bundlePath)} version`, { timeoutMs: 20_000 });
    if (check.code !== 0) {
      throw new ApiError('unavailable', `${shell.label}: raftd does not run with ${runtimePath}: ${(check.stderr || check.stdout).trim().split('\n').slice(-2).join(' | ')}`);
    }
  }
}

/**
 * Marks the folders of this deploy as used now, then removes every other raftd-* and node-* folder
 * under REMOTE_ROOT that no deploy has used for STALE_VERSION_MINUTES and that no process on the
 * host runs (its path is on no command line in /proc). Returns the names removed.
 */
export async function removeStaleVersions(shell: RemoteShell, inUse: string[]): Promise<string[]> {
  const keep = inUse.filter((name) => /^(raftd|node)-[\w.-]+$/.test(name));
  // `[/]` keeps grep's own command line, which holds the pattern, from matching it.
  const script = [
    `cd "$HOME"/${REMOTE_ROOT} 2>/dev/null || exit 0`,
    ...(keep.length ? [`touch -c -- ${keep.map(shellQuote).join(' ')}`] : []),
    'for d in raftd-* node-*; do',
    '  [ -d "$d" ] || continue',
    `  case " ${keep.join(' ')} " in *" $d "*) continue ;; esac`,
    `  [ -n "$(find "$d" -maxdepth 0 -mmin +${STALE_VERSION_MINUTES})" ] || continue`,
    `  grep -qs -- "$HOME/${REMOTE_ROOT}/$d[/]" /proc/[0-9]*/cmdline && continue`,
    '  rm -rf -- "$d" && echo "removed $d"',
    'done',
  ].join('\n');
  const result = await shell.exec(`/bin/sh -c ${shellQuote(script)}`, { timeoutMs: 30_000 }); // whatever the login shell is
  return result.stdout
    .split('\n')
    .filter((line) => line.startsWith('removed '))
    .map((line) => line.slice('removed '.length));
}

/**
 * Waits (bounded) while the shell is reconnecting after a blip, so an operation asked for right then
 * runs on the new connection instead of failing; a shell that stays down fails the operation as usual.
 */
export async function whenConnected(shell: RemoteShell, timeoutMs = 15_000): Promise<void> {
  const waiting = (state: string) => state === 'reconnecting' || state === 'connecting';
  if (!waiting(shell.state)) return;
  await new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      off();
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    const off = shell.on('state', (state) => {
      if (!waiting(state)) done();
    });
  });
}

/** Runs a command that must succeed; its failure is one message naming the host and what was being done. */
export async function checked(shell: RemoteShell, command: string, what: string, options: { timeoutMs?: number; stdin?: string } = {}): Promise<string> {
  const result = await shell.exec(command, { timeoutMs: options.timeoutMs ?? 20_000, ...(options.stdin !== undefined && { stdin: options.stdin }) });
  if (result.code !== 0) {
    const why = (result.stderr || result.stdout).trim().split('\n').slice(-2).join(' | ') || `exit ${result.code}`;
    const full = /No space left/i.test(why) ? ' (the remote disk is full)' : '';
    throw new ApiError('unavailable', `${shell.label}: could not ${what}${full}: ${why}`);
  }
  return result.stdout;
}

/** A RemoteError (or any failure) during a step on a host, as one message naming the host and the step. */
export function remoteFailure(where: RemoteShell | string, doing: string, error: unknown): ApiError {
  const label = typeof where === 'string' ? where : where.label;
  if (error instanceof ApiError) return error;
  const message = (error as Error).message;
  const full = /No space left|ENOSPC|quota/i.test(message + ((error as RemoteError).detail?.cause ?? '')) ? ' (the remote disk is full)' : '';
  const lost = error instanceof RemoteError && (error.code === 'connection-lost' || error.code === 'unreachable') ? ' (the connection was lost; nothing half-written is kept: run it again)' : '';
  return new ApiError('unavailable', `${label}: failed ${doing}${full}${lost}: ${message}`);
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}
