// raftd: one Raft node per process, with a WAL on disk, TCP to its peers and an HTTP client API.
import { parseArgs } from 'node:util';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import tls from 'node:tls';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';
import pino from 'pino';
import { systemClock } from '../clock.js';
import { RaftNode } from '../node/raft-node.js';
import { FileLogStore, FileSnapshotStore } from '../storage/index.js';
import { makeDirDurable, makePrivate, PRIVATE_DIR_MODE } from '../storage/files.js';
import { TcpTransport, isLoopbackHost } from '../transport/index.js';
import { loadTlsFiles, type TlsFiles, type TlsMaterial } from '../security/tls.js';
import { resolveToken } from '../security/token.js';
import { createHttpApi } from './http-api.js';
import { DEFAULT_CLIENT_LIMITS, RESERVED_DESCRIPTORS, clientConnectionCap } from './http-fast.js';
import { FaultFilter } from './fault-filter.js';
import { RaftdStateMachine, type MemberContext } from '../service/state-machine.js';
import { parseClusterSpec, parseHostPort } from './cluster-spec.js';
import { forceNewCluster } from './force-new-cluster.js';
import { writeFileAtomic } from '../process/atomic-file.js';
import { acquirePidLock } from '../process/pid-lock.js';
import { isHostPort } from '../net/address.js';

export const HELP = `raftd: a Raft node with a replicated key-value store

Usage:
  raftd --id n1 --data-dir ./data/n1 --peer 127.0.0.1:7001 --client 127.0.0.1:8001 \\
        --cluster n1=127.0.0.1:7001/127.0.0.1:8001,n2=...,n3=... [options]

Required:
  --id ID                 this node's id (letters, digits, _ . -)
  --data-dir DIR          where the WAL, snapshots and metadata live; created on first start
  --peer HOST:PORT        address other nodes use to reach this one (raft traffic)
  --client HOST:PORT      HTTP API address
  --cluster SPEC          initial members: id=peerHost:peerPort/clientHost:clientPort,...
                          Used on the first start only; later starts recover the persisted membership.
Options:
  --join                  start empty and wait to be added to an existing cluster (--cluster lists its members)
  --cluster-id NAME       cluster identity checked on every peer connection (default: "raft")
  --token-file PATH       file holding the cluster's shared secret (trailing newline ignored): peers
                          prove it to each other (challenge-response HMAC) and HTTP routes require it.
                          Needed whenever --peer is not a loopback address.
  RAFTD_TOKEN=SECRET      the same secret from the environment, when no flag gives it
  --token SECRET          the same secret on the command line; prefer the two above: every user of
                          the machine can read it in \`ps\`
  --tls-cert PATH         mutual TLS on the peer and client ports (all three flags or none): this node's
  --tls-key PATH          certificate (subject CN = its --id) and key, and the cluster CA that signed
  --tls-ca PATH           every node's and client's certificate. Peers check each other's; the client
                          port serves HTTPS and accepts only clients with a certificate of that CA.
  --heartbeat-ms N        heartbeat interval (default 100, as etcd)
  --election-ms N         election timeout (default 1000, as etcd); randomized in [N, 2N)
  --snapshot-entries N    snapshot and compact after N applied entries (default 10000)
  --force-new-cluster     recover from a lost quorum: rewrite the persisted membership to this node
                          alone (keeps a backup of the old WAL). Other members' unreplicated writes are lost.
  --max-client-connections N
                          open client connections at most (default 4096); fewer if the open-file
                          limit is low: ${RESERVED_DESCRIPTORS} descriptors stay free for the WAL, snapshots and peers
  --log-level LEVEL       debug, info, warn, error (default info)
  -h, --help              show this help

Signals: SIGTERM/SIGINT stop cleanly. A SIGKILL at any moment loses no acknowledged write.`;

export interface RaftdOptions {
  id: string;
  dataDir: string;
  peer: string;
  client: string;
  cluster: MemberContext;
  clusterId: string;
  token?: string;
  /** Mutual TLS on both ports, read from these files at start. */
  tls?: TlsFiles;
  heartbeatMs: number;
  electionMs: number;
  snapshotEntries: number;
  maxClientConnections: number;
  join: boolean;
  forceNewCluster: boolean;
  logLevel: string;
}

export function parseRaftdArgs(argv: string[]): RaftdOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      id: { type: 'string' },
      'data-dir': { type: 'string' },
      peer: { type: 'string' },
      client: { type: 'string' },
      cluster: { type: 'string' },
      'cluster-id': { type: 'string', default: 'raft' },
      token: { type: 'string' },
      'token-file': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'tls-ca': { type: 'string' },
      'heartbeat-ms': { type: 'string', default: '100' },
      'election-ms': { type: 'string', default: '1000' },
      'snapshot-entries': { type: 'string', default: '10000' },
      join: { type: 'boolean', default: false },
      'force-new-cluster': { type: 'boolean', default: false },
      'max-client-connections': { type: 'string', default: String(DEFAULT_CLIENT_LIMITS.maxConnections) },
      'log-level': { type: 'string', default: 'info' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  for (const name of ['id', 'data-dir', 'peer', 'client', 'cluster'] as const) {
    if (!values[name]) throw new Error(`--${name} is required (see raftd --help)`);
  }
  const id = values.id!;
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(id)) throw new Error(`--id "${id}": use letters, digits, _ . - (at most 64)`);
  const peerHost = parseHostPort(values.peer!, '--peer').host;
  parseHostPort(values.client!, '--client');
  const token = resolveToken({ token: values.token, tokenFile: values['token-file'] });
  if (!token && !isLoopbackHost(peerHost)) {
    throw new Error(
      `--peer ${values.peer} is not a loopback address, and peers reachable from other machines must authenticate: ` +
        'give the cluster token (--token-file PATH or RAFTD_TOKEN)',
    );
  }
  const tlsFlags = [values['tls-cert'], values['tls-key'], values['tls-ca']];
  if (tlsFlags.some((f) => f !== undefined) && !tlsFlags.every((f) => f !== undefined)) {
    throw new Error('mutual TLS needs all three of --tls-cert, --tls-key and --tls-ca');
  }
  const cluster = parseClusterSpec(values.cluster!);
  if (!cluster[id]) throw new Error(`--cluster does not list this node (${id})`);
  const heartbeatMs = positiveInt(values['heartbeat-ms']!, '--heartbeat-ms');
  const electionMs = positiveInt(values['election-ms']!, '--election-ms');
  if (electionMs < 2 * heartbeatMs) throw new Error('--election-ms must be at least twice --heartbeat-ms');
  if (!['debug', 'info', 'warn', 'error'].includes(values['log-level']!)) throw new Error('--log-level: debug, info, warn or error');
  return {
    id,
    dataDir: values['data-dir']!,
    peer: values.peer!,
    client: values.client!,
    cluster,
    clusterId: values['cluster-id']!,
    token,
    tls: values['tls-cert'] ? { cert: values['tls-cert'], key: values['tls-key']!, ca: values['tls-ca']! } : undefined,
    heartbeatMs,
    electionMs,
    snapshotEntries: positiveInt(values['snapshot-entries']!, '--snapshot-entries'),
    maxClientConnections: positiveInt(values['max-client-connections']!, '--max-client-connections'),
    join: values.join!,
    forceNewCluster: values['force-new-cluster']!,
    logLevel: values['log-level']!,
  };
}

function positiveInt(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag} must be a positive integer, got "${text}"`);
  return n;
}

interface DataDirMeta {
  id: string;
  clusterId: string;
  /** Member directory at bootstrap; later changes are replicated through the log and snapshots. */
  initialMembers: MemberContext;
  createdAt: string;
}

export async function runRaftd(options: RaftdOptions): Promise<{ stop(): Promise<void> }> {
  const logger = pino({ level: options.logLevel, base: { node: options.id } });
  await makeDirDurable(options.dataDir);
  const widened = await makePrivate(options.dataDir, PRIVATE_DIR_MODE);
  if (widened !== null) logger.warn(`data dir ${options.dataDir} was open to others (mode ${widened.toString(8)}); now 700: it holds every value`);
  // One raftd per data dir; a pid reused by another process since a crash does not hold it.
  const lock = await acquirePidLock(join(options.dataDir, 'raftd.pid'), `data dir ${options.dataDir}`);
  const unlock = () => lock.release();

  const metaPath = join(options.dataDir, 'meta.json');
  let meta: DataDirMeta | null = null;
  try {
    meta = JSON.parse(await readFile(metaPath, 'utf8')) as DataDirMeta;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read ${metaPath}: ${(error as Error).message}`);
  }
  if (meta && meta.id !== options.id) throw new Error(`data dir ${options.dataDir} belongs to node ${meta.id}, not ${options.id}`);
  if (meta && meta.clusterId !== options.clusterId) throw new Error(`data dir ${options.dataDir} belongs to cluster "${meta.clusterId}", not "${options.clusterId}"`);
  const firstStart = meta === null;
  if (!meta) {
    meta = { id: options.id, clusterId: options.clusterId, initialMembers: options.cluster, createdAt: new Date().toISOString() };
    await writeFileAtomic(metaPath, JSON.stringify(meta, null, 2));
  }

  const walDir = join(options.dataDir, 'wal');
  const snapDir = join(options.dataDir, 'snap');
  if (options.forceNewCluster) {
    logger.warn({ dataDir: options.dataDir }, 'FORCE NEW CLUSTER: rewriting the persisted membership to this node alone; the old WAL is kept as a backup');
    const backup = await forceNewCluster({ id: options.id, walDir, snapDir, initialMembers: meta.initialMembers, self: { peer: options.peer, client: options.client } });
    logger.warn({ backup }, 'force-new-cluster done: this node is now the only voter; add members back one at a time');
  }

  const logStore = await FileLogStore.open(walDir, { onWarning: (message: string) => logger.warn(message) });
  const snapshotStore = new FileSnapshotStore(snapDir);

  const directory = firstStart ? options.cluster : meta.initialMembers;
  const stateMachine = new RaftdStateMachine(
    options.join && firstStart ? options.cluster : directory,
    (reachable) => syncPeers(reachable),
    (message) => logger.warn(message),
  );
  const peerAddr = parseHostPort(options.peer, '--peer');
  const tlsMaterial = options.tls ? await loadTlsFiles(options.tls) : undefined;
  const tcp = new TcpTransport({
    id: options.id,
    clusterId: options.clusterId,
    token: options.token,
    tls: tlsMaterial,
    listen: peerAddr,
    // A silent peer connection is dropped within an election timeout, and nothing older is sent.
    pingIntervalMs: options.heartbeatMs,
    silenceMs: options.electionMs,
    maxMessageAgeMs: options.electionMs,
    // Redial a lost peer at least every heartbeat, each attempt bounded, so a healed link is used
    // at once rather than after the kernel's next SYN (1, 3, 7 s) or a long backoff.
    connectTimeoutMs: Math.max(250, Math.round(options.electionMs / 2)),
    backoff: { initialMs: Math.max(10, Math.round(options.heartbeatMs / 4)), maxMs: options.heartbeatMs },
    peers: Object.fromEntries(Object.entries(directory).filter(([id, a]) => id !== options.id && isHostPort(a.peer)).map(([id, a]) => [id, a.peer])),
    logger: { info: (m: string) => logger.info(m), warn: (m: string) => logger.warn(m), debug: (m: string) => logger.debug(m) },
  });
  const transport = new FaultFilter(tcp);
  const knownPeers = new Set(Object.keys(directory).filter((id) => id !== options.id));
  function syncPeers(members: MemberContext): void {
    for (const [id, a] of Object.entries(members)) {
      if (id === options.id) continue;
      transport.setPeer(id, a.peer);
      knownPeers.add(id);
    }
    for (const id of [...knownPeers]) {
      if (!members[id]) {
        transport.removePeer(id);
        knownPeers.delete(id);
      }
    }
  }

  const tickMs = options.heartbeatMs;
  const node = await RaftNode.start({
    id: options.id,
    logStore,
    snapshotStore,
    transport,
    clock: systemClock,
    stateMachine,
    tickMs,
    heartbeatTicks: 1,
    electionTicks: Math.max(2, Math.round(options.electionMs / tickMs)),
    initialMembers: firstStart && !options.join ? Object.keys(options.cluster) : undefined,
    snapshotThreshold: options.snapshotEntries,
    logger: { debug: (m) => logger.debug(m), info: (m) => logger.info(m), warn: (m) => logger.warn(m) },
  });
  await tcp.start();
  syncPeers(stateMachine.reachableMembers());

  node.on((e) => {
    if (e.type === 'role') logger.info({ role: e.role, term: e.term, leader: e.leader }, `role ${e.role} in term ${e.term}${e.leader ? `, leader ${e.leader}` : ''}`);
    else if (e.type === 'membership') logger.info({ confState: e.confState, index: e.index }, 'membership changed');
    else if (e.type === 'snapshot') logger.info({ index: e.index }, 'snapshot');
    else if (e.type === 'error') logger.error({ err: e.error.message }, 'node stopped: storage failure');
  });

  const http = createHttpApi({
    node,
    stateMachine,
    token: options.token,
    setDroppedPeers: (peers) => transport.setDropped(peers),
    droppedPeers: () => transport.droppedPeers(),
    snapshotNow: () => node.snapshotNow(),
    metrics: () => {
      const wal = logStore.stats();
      const memory = process.memoryUsage();
      return { walSyncs: wal.syncs, walRecords: wal.records, walBytes: wal.bytes, walSyncMs: Math.round(wal.syncMs), rssBytes: memory.rss, heapUsedBytes: memory.heapUsed };
    },
    logger,
    clientLimits: { maxConnections: clientConnectionCap(options.maxClientConnections), warn: (message) => logger.warn(message) },
  });
  const clientAddr = parseHostPort(options.client, '--client');
  const httpsServer = tlsMaterial ? await listenHttps(http, tlsMaterial, clientAddr, logger) : undefined;
  if (!httpsServer) await http.listen(clientAddr.port, clientAddr.host);
  logger.info({ peer: options.peer, client: options.client, firstStart, join: options.join, maxClientConnections: http.connections().max }, `raftd ${options.id} serving`);

  let stopping: Promise<void> | null = null;
  return {
    stop() {
      stopping ??= (async () => {
        // The TLS server's close waits for its connections, and an event stream never ends by itself:
        // stop accepting, let the client server destroy every connection, then wait for the close.
        const httpsClosed = httpsServer && new Promise((resolve) => httpsServer.close(resolve));
        await http.close();
        await httpsClosed;
        await node.stop();
        await transport.close();
        await logStore.close();
        await unlock();
        logger.info('raftd stopped');
      })();
      return stopping;
    },
  };
}

/**
 * HTTPS on the client port, only for clients with a certificate of the cluster CA. The TLS server
 * hands each decrypted socket to the client server's own connection handler, so its fast path
 * and node:http serve it exactly as they serve plain TCP.
 */
async function listenHttps(client: ReturnType<typeof createHttpApi>, material: TlsMaterial, at: { host: string; port: number }, logger: pino.Logger): Promise<tls.Server> {
  const plain = (client as unknown as { server?: unknown }).server;
  if (!(plain instanceof net.Server)) throw new Error('internal error: the client server has no connection handler to serve HTTPS through');
  const server = tls.createServer(
    { ...material, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2', handshakeTimeout: 10_000 },
    (socket) => plain.emit('connection', socket),
  );
  // Connections still in their TLS handshake count against the client cap too.
  server.maxConnections = client.connections().max;
  server.on('tlsClientError', (err, socket) => logger.debug(`refused HTTPS client ${socket.remoteAddress}: ${err.message}`));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // node:http starts its header and request timers when its server "listens".
  plain.emit('listening');
  return server;
}

/**
 * V8 sizes its heap for throughput: under load the young generation grows to 2 × 16 MiB and stays,
 * and the old generation may grow to 4× its live size between collections: together ~40 MB of a
 * busy raftd's RSS. 2 × 4 MiB and 1.5× cost no measurable CPU here. Node reads
 * --max-semi-space-size only at start-up, so young-generation growth is switched off at the cap.
 */
function limitHeapGrowth(maxYoungBytes = 8 * 1024 * 1024): void {
  v8.setFlagsFromString('--heap-growing-percent=50');
  let growing = true;
  new PerformanceObserver(() => {
    const young = v8.getHeapSpaceStatistics().find((space) => space.space_name === 'new_space');
    const grow = !young || young.space_size < maxYoungBytes;
    if (grow !== growing) v8.setFlagsFromString(`--semi-space-growth-factor=${grow ? 2 : 1}`);
    growing = grow;
  }).observe({ entryTypes: ['gc'] });
}

export async function main(argv: string[]): Promise<void> {
  let options: RaftdOptions | 'help';
  try {
    options = parseRaftdArgs(argv);
  } catch (error) {
    process.stderr.write(`raftd: ${(error as Error).message}\n`);
    process.exit(2);
  }
  if (options === 'help') {
    process.stdout.write(HELP + '\n');
    return;
  }
  limitHeapGrowth();
  let daemon: { stop(): Promise<void> };
  try {
    daemon = await runRaftd(options);
  } catch (error) {
    process.stderr.write(`raftd: ${(error as Error).message}\n`);
    process.exit(1);
  }
  const shutdown = () => {
    daemon.stop().then(
      () => process.exit(0),
      (error) => {
        process.stderr.write(`raftd: stop failed: ${(error as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}
