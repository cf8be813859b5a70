// The remote test lab: real hosts made of Linux network namespaces (../shared/ENVIRONMENT.md).
// rc-lan holds a bridge; rc-h1..rc-h4 are hosts at 198.51.100.1..4, each with its own sshd (own host
// key, own config, port 22 on its address), its own login user rc-userN (own home, authorized_keys)
// and hostname; rc-h3's sshd also takes passwords (for rc-user3); rc-h4's users have no Node (node,
// npm, npx are whited out by an overlay in sshd's private mount namespace). The console side runs
// in rc-op (198.51.100.10) on the same bridge: tests connect only from there, never from the root
// namespace.
//
// Build and teardown need root and run in the lab runner (lab-runner.ts), which writes the lab's
// description to a JSON file named by RC_LAB_FILE. Lab tests are named *.lab.test.ts, run with
// test/remote/vitest.config.ts inside rc-op, and call requireLab() to get the description.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import { join } from 'node:path';

export const LAB_FILE_ENV = 'RC_LAB_FILE';
export const LAB_DIR = '/tmp/rc-lab';
export const LAN_NAMESPACE = 'rc-lan';
export const OP_NAMESPACE = 'rc-op';
export const OP_ADDRESS = '198.51.100.10';
/** A lab address nobody has: connecting to it is "unreachable". */
export const UNUSED_ADDRESS = '198.51.100.99';
const HOST_COUNT = 4;
const HOST_WITHOUT_NODE = 4;
const HOST_WITH_PASSWORD = 3;

export interface LabHost {
  /** 'rc-h1' ...: the namespace and the hostname. */
  name: string;
  index: number;
  address: string;
  port: number;
  user: string;
  home: string;
  /** The veth end on the bridge: `ip -n rc-lan link set <link> down` partitions the host. */
  link: string;
  hostKeyFile: string;
  /** `ssh-keygen -lf` of the host's public key: 'SHA256:…'. */
  hostKeyFingerprint: string;
  /** 'ssh-ed25519 AAAA…' of the host key. */
  hostKeyPublic: string;
  hasNode: boolean;
  /** rc-h1 also has an RSA host key ('ssh-rsa AAAA…' and its fingerprint): a client that knows only it must get it. */
  rsaHostKey?: { file: string; public: string; fingerprint: string };
  /** Set on the host whose sshd takes passwords. */
  password?: string;
  sshdConfig: string;
  sshdPidFile: string;
  sshdLog: string;
  startScript: string;
}

export interface Lab {
  dir: string;
  opNamespace: string;
  opAddress: string;
  unusedAddress: string;
  hosts: LabHost[];
  /** Authorized on every host, no passphrase. */
  clientKey: string;
  /** Authorized on every host, encrypted with `encryptedKeyPassphrase`. */
  encryptedKey: string;
  encryptedKeyPassphrase: string;
  /** A valid key no host authorizes. */
  strangerKey: string;
}

function run(cmd: string, args: string[], opts: { quiet?: boolean; input?: string } = {}): string {
  return execFileSync(cmd, args, { encoding: 'utf8', input: opts.input, stdio: ['pipe', 'pipe', opts.quiet ? 'ignore' : 'pipe'] });
}

function tryRun(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Why the lab cannot be built here, or null when it can. */
export function labUnavailableReason(): string | null {
  if (process.platform !== 'linux') return 'not Linux (the lab uses network namespaces)';
  if (process.getuid?.() !== 0) return 'not root (building network namespaces and users needs root; CI runs as root)';
  if (!existsSync('/usr/sbin/sshd')) return 'no /usr/sbin/sshd (apt-get install openssh-server)';
  if (!tryRun('ip', ['netns', 'list'])) return '`ip netns` does not work here';
  return null;
}

/** The name of the network namespace this process is in ('' for the root namespace). */
export function currentNamespace(): string {
  try {
    return run('ip', ['netns', 'identify', String(process.pid)], { quiet: true }).trim();
  } catch {
    return '';
  }
}

/** For lab tests: the lab description; throws unless running inside rc-op with a built lab. */
export function requireLab(): Lab {
  const ns = currentNamespace();
  if (ns !== OP_NAMESPACE) {
    throw new Error(`lab tests run only inside the ${OP_NAMESPACE} namespace (now: ${ns || 'the root namespace'}); run them with \`npx tsx test/remote/lab-runner.ts\``);
  }
  const file = process.env[LAB_FILE_ENV];
  if (!file || !existsSync(file)) throw new Error(`${LAB_FILE_ENV} does not name a lab description file; run the tests with test/remote/lab-runner.ts`);
  return JSON.parse(readFileSync(file, 'utf8')) as Lab;
}

export function hostByIndex(lab: Lab, index: number): LabHost {
  const host = lab.hosts.find((h) => h.index === index);
  if (!host) throw new Error(`the lab has no host ${index}`);
  return host;
}

// ---------------------------------------------------------------------------------------------
// Faults tests may cause (from inside rc-op too: `ip -n` and `ip netns exec` reach other namespaces).

/** A real partition: the host's link on the bridge goes down. */
export function linkDown(host: LabHost): void {
  run('ip', ['-n', LAN_NAMESPACE, 'link', 'set', host.link, 'down']);
}

export function linkUp(host: LabHost): void {
  run('ip', ['-n', LAN_NAMESPACE, 'link', 'set', host.link, 'up']);
}

function readPid(file: string): number | null {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`lab: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Stops the host's sshd by the pid it wrote (sessions it forked end with their connections). */
export async function stopSshd(host: LabHost): Promise<void> {
  const pid = readPid(host.sshdPidFile);
  if (pid === null || !alive(pid)) return;
  process.kill(pid, 'SIGTERM');
  await waitFor(`sshd of ${host.name} to exit`, () => !alive(pid));
  rmSync(host.sshdPidFile, { force: true });
}

/** Starts the host's sshd in its namespace (with its own hostname and mount namespace) and waits until it listens. */
export async function startSshd(host: LabHost): Promise<void> {
  rmSync(host.sshdPidFile, { force: true });
  const log = openSync(host.sshdLog, 'a');
  const child = spawn('ip', ['netns', 'exec', host.name, 'unshare', '--mount', '--uts', '--propagation', 'private', '/bin/sh', host.startScript], {
    detached: true,
    stdio: ['ignore', log, log],
  });
  child.unref();
  closeSync(log);
  let exited = false;
  child.once('exit', () => (exited = true));
  await waitFor(`sshd of ${host.name} to listen`, () => {
    if (exited) throw new Error(`lab: sshd of ${host.name} exited; see ${host.sshdLog}`);
    return readPid(host.sshdPidFile) !== null && readFileSync(host.sshdLog, 'utf8').includes(`Server listening on ${host.address} port ${host.port}`);
  });
}

export async function restartSshd(host: LabHost): Promise<void> {
  await stopSshd(host);
  await startSshd(host);
}

/** Gives the host a new host key (the old one is kept as <file>.orig once); returns its fingerprint. */
export async function regenerateHostKey(host: LabHost): Promise<string> {
  const orig = `${host.hostKeyFile}.orig`;
  if (!existsSync(orig)) {
    writeFileSync(orig, readFileSync(host.hostKeyFile), { mode: 0o600 });
    writeFileSync(`${orig}.pub`, readFileSync(`${host.hostKeyFile}.pub`));
  }
  rmSync(host.hostKeyFile, { force: true });
  rmSync(`${host.hostKeyFile}.pub`, { force: true });
  run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', host.name, '-f', host.hostKeyFile]);
  await restartSshd(host);
  return fingerprintOfFile(`${host.hostKeyFile}.pub`);
}

/** Puts back the host key the lab was built with. */
export async function restoreHostKey(host: LabHost): Promise<void> {
  const orig = `${host.hostKeyFile}.orig`;
  if (!existsSync(orig)) return;
  writeFileSync(host.hostKeyFile, readFileSync(orig), { mode: 0o600 });
  writeFileSync(`${host.hostKeyFile}.pub`, readFileSync(`${orig}.pub`));
  rmSync(orig);
  rmSync(`${orig}.pub`);
  await restartSshd(host);
}

/**
 * What one lab test file left on the hosts must not change the next (lab-setup.ts runs this before each file):
 * links up, original host keys, no process of a lab user (a raftd a test deployed), no ~/.raft-console
 * (raftd bundles, Node runtimes, clusters), so every file starts from hosts nothing was deployed to.
 */
export async function resetHosts(lab: Lab): Promise<void> {
  for (const host of lab.hosts) {
    linkUp(host);
    await restoreHostKey(host);
    for (const pid of pidsOfUser(host.user)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await waitFor(`processes of ${host.user} to end`, () => pidsOfUser(host.user).length === 0, 5_000);
    rmSync(join(host.home, '.raft-console'), { recursive: true, force: true });
  }
}

export function fingerprintOfFile(pubFile: string): string {
  return run('ssh-keygen', ['-lf', pubFile]).split(' ')[1];
}

// ---------------------------------------------------------------------------------------------
// Build and teardown (root, root namespace: the runner).

function namespaces(): string[] {
  return run('ip', ['netns', 'list'])
    .split('\n')
    .map((line) => line.split(' ')[0])
    .filter((name) => name === LAN_NAMESPACE || name === OP_NAMESPACE || /^rc-h\d+$/.test(name));
}

function labUsers(): string[] {
  return readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .map((line) => line.split(':')[0])
    .filter((name) => /^rc-user\d+$/.test(name));
}

/** Pids of processes owned by a lab user (raftd a test deployed, a lingering session), from /proc. */
function pidsOfUser(user: string): number[] {
  let uid: number;
  try {
    uid = Number(run('id', ['-u', user]).trim());
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const entry of run('ls', ['/proc']).split('\n')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      const line = status.split('\n').find((l) => l.startsWith('Uid:'));
      if (line && Number(line.split(/\s+/)[1]) === uid) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/**
 * Removes everything a lab (this one or a crashed earlier one) left: sshd by the pids they wrote,
 * processes of the lab users by pid, the namespaces, the users and their homes, the lab dir.
 * Safe to call any number of times.
 */
export async function teardownLab(): Promise<string[]> {
  const problems: string[] = [];
  for (let i = 1; i <= HOST_COUNT; i++) {
    const pid = readPid(join(LAB_DIR, `h${i}`, 'sshd.pid'));
    if (pid !== null && alive(pid)) {
      try {
        process.kill(pid, 'SIGTERM');
        await waitFor(`sshd ${pid} to exit`, () => !alive(pid), 5_000).catch(() => process.kill(pid, 'SIGKILL'));
      } catch (error) {
        problems.push(`sshd ${pid}: ${(error as Error).message}`);
      }
    }
  }
  for (const user of labUsers()) {
    for (const pid of pidsOfUser(user)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  for (const user of labUsers()) {
    const pids = pidsOfUser(user);
    if (pids.length) await waitFor(`processes of ${user} to end`, () => pidsOfUser(user).length === 0, 5_000).catch(() => problems.push(`${user} still runs ${pids.join(' ')}`));
    if (!tryRun('userdel', ['-r', user])) {
      if (!tryRun('userdel', ['-f', '-r', user])) problems.push(`userdel ${user} failed`);
    }
  }
  for (const ns of namespaces()) {
    if (!tryRun('ip', ['netns', 'del', ns])) problems.push(`ip netns del ${ns} failed`);
  }
  rmSync(LAB_DIR, { recursive: true, force: true });
  return problems;
}

function whiteoutScript(host: LabHost): string[] {
  // Over each PATH directory holding Node's programs, an overlay whose upper layer (on a small tmpfs
  // private to this mount namespace) hides them with whiteouts (character devices 0,0).
  const programs = ['node', 'nodejs', 'npm', 'npx', 'corepack'];
  const dirs = ['/usr/local/bin', '/usr/bin', '/usr/local/sbin', '/usr/sbin', '/usr/games', '/usr/local/games'].filter((dir) =>
    programs.some((p) => existsSync(join(dir, p))),
  );
  const base = join(LAB_DIR, `h${host.index}`, 'overlay');
  mkdirSync(base, { recursive: true });
  const lines = [`mount -t tmpfs -o size=1m,mode=0700 rc-lab-overlay ${base}`];
  dirs.forEach((dir, i) => {
    const upper = `${base}/u${i}`;
    const work = `${base}/w${i}`;
    lines.push(`mkdir -p ${upper} ${work}`);
    for (const program of programs) if (existsSync(join(dir, program))) lines.push(`mknod ${upper}/${program} c 0 0`);
    lines.push(`mount -t overlay -o lowerdir=${dir},upperdir=${upper},workdir=${work} rc-lab-overlay ${dir}`);
  });
  return lines;
}

/** Builds the lab from scratch (after removing any leftovers) and writes its description to `file`. */
export async function buildLab(file: string): Promise<Lab> {
  await teardownLab();
  mkdirSync(LAB_DIR, { recursive: true, mode: 0o700 });
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });

  const key = (name: string, passphrase = ''): string => {
    const path = join(LAB_DIR, name);
    run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', `rc-lab-${name}`, '-f', path]);
    return path;
  };
  const clientKey = key('client_ed25519');
  const encryptedKeyPassphrase = 'lab passphrase 7';
  const encryptedKey = key('client_encrypted_ed25519', encryptedKeyPassphrase);
  const strangerKey = key('stranger_ed25519');
  const authorized = [readFileSync(`${clientKey}.pub`, 'utf8'), readFileSync(`${encryptedKey}.pub`, 'utf8')].join('');

  run('ip', ['netns', 'add', LAN_NAMESPACE]);
  run('ip', ['-n', LAN_NAMESPACE, 'link', 'add', 'br0', 'type', 'bridge']);
  run('ip', ['-n', LAN_NAMESPACE, 'link', 'set', 'br0', 'up']);
  const attach = (ns: string, link: string, address: string): void => {
    run('ip', ['netns', 'add', ns]);
    run('ip', ['link', 'add', link, 'type', 'veth', 'peer', 'name', 'e0']);
    run('ip', ['link', 'set', 'e0', 'netns', ns]);
    run('ip', ['link', 'set', link, 'netns', LAN_NAMESPACE]);
    run('ip', ['-n', LAN_NAMESPACE, 'link', 'set', link, 'master', 'br0']);
    run('ip', ['-n', LAN_NAMESPACE, 'link', 'set', link, 'up']);
    run('ip', ['-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'e0']);
    run('ip', ['-n', ns, 'link', 'set', 'e0', 'up']);
    run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  };
  attach(OP_NAMESPACE, 'rc-vop', OP_ADDRESS);

  const hosts: LabHost[] = [];
  for (let i = 1; i <= HOST_COUNT; i++) {
    const dir = join(LAB_DIR, `h${i}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const host: LabHost = {
      name: `rc-h${i}`,
      index: i,
      address: `198.51.100.${i}`,
      port: 22,
      user: `rc-user${i}`,
      home: `/home/rc-user${i}`,
      link: `rc-v${i}`,
      hostKeyFile: join(dir, 'ssh_host_ed25519_key'),
      hostKeyFingerprint: '',
      hostKeyPublic: '',
      hasNode: i !== HOST_WITHOUT_NODE,
      ...(i === HOST_WITH_PASSWORD ? { password: `lab password ${i}` } : {}),
      sshdConfig: join(dir, 'sshd_config'),
      sshdPidFile: join(dir, 'sshd.pid'),
      sshdLog: join(dir, 'sshd.log'),
      startScript: join(dir, 'start.sh'),
    };
    attach(host.name, host.link, host.address);

    run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', host.name, '-f', host.hostKeyFile]);
    host.hostKeyFingerprint = fingerprintOfFile(`${host.hostKeyFile}.pub`);
    host.hostKeyPublic = readFileSync(`${host.hostKeyFile}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
    if (i === 1) {
      const rsa = join(dir, 'ssh_host_rsa_key');
      run('ssh-keygen', ['-q', '-t', 'rsa', '-b', '2048', '-N', '', '-C', host.name, '-f', rsa]);
      host.rsaHostKey = { file: rsa, public: readFileSync(`${rsa}.pub`, 'utf8').split(' ').slice(0, 2).join(' '), fingerprint: fingerprintOfFile(`${rsa}.pub`) };
    }

    run('useradd', ['-m', '-s', '/bin/bash', host.user]);
    if (host.password) run('chpasswd', [], { input: `${host.user}:${host.password}\n` });
    else run('usermod', ['-p', '*', host.user]); // no password, yet not locked (sshd refuses locked accounts)
    const ssh = join(host.home, '.ssh');
    mkdirSync(ssh, { recursive: true, mode: 0o700 });
    writeFileSync(join(ssh, 'authorized_keys'), authorized, { mode: 0o600 });
    run('chown', ['-R', `${host.user}:${host.user}`, ssh]);

    writeFileSync(
      host.sshdConfig,
      [
        `Port ${host.port}`,
        `ListenAddress ${host.address}`,
        `HostKey ${host.hostKeyFile}`,
        ...(host.rsaHostKey ? [`HostKey ${host.rsaHostKey.file}`] : []),
        `PidFile ${host.sshdPidFile}`,
        'PubkeyAuthentication yes',
        `PasswordAuthentication ${host.password ? 'yes' : 'no'}`,
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        'PermitRootLogin no',
        `AllowUsers ${host.user}`,
        'AllowTcpForwarding yes',
        'MaxStartups 50',
        'LogLevel VERBOSE',
        'Subsystem sftp internal-sftp',
        '',
      ].join('\n'),
    );
    writeFileSync(
      host.startScript,
      ['set -e', `hostname ${host.name}`, ...(host.hasNode ? [] : whiteoutScript(host)), `exec /usr/sbin/sshd -D -e -f ${host.sshdConfig}`, ''].join('\n'),
    );
    hosts.push(host);
  }
  for (const host of hosts) await startSshd(host);

  const lab: Lab = {
    dir: LAB_DIR,
    opNamespace: OP_NAMESPACE,
    opAddress: OP_ADDRESS,
    unusedAddress: UNUSED_ADDRESS,
    hosts,
    clientKey,
    encryptedKey,
    encryptedKeyPassphrase,
    strangerKey,
  };
  writeFileSync(file, JSON.stringify(lab, null, 2));
  return lab;
}
