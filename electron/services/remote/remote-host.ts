// One machine that runs raftd nodes for the console: its shell (an SSH connection from the pool, or
// LocalShell in tests), its address on the network between the nodes, and raftd deployed on it
// once per console session (a deploy that finds everything in place uploads nothing).
import { ApiError } from '../../shared/api.js';
import type { RemoteDeployment, RemoteDeployPlan } from '../../shared/api.js';
import { Deployer, type DeployOptions, type Deployment } from './deploy.js';
import { shellQuote, type RemoteShell } from './remote-shell.js';

export interface RemoteHostOptions {
  /** The host profile's id: what nodes record as their host. */
  name: string;
  /** The name the operator gave the host (as the Hosts view shows it), asked each time: a profile can be renamed. */
  displayName?: () => string;
  shell: RemoteShell;
  /** Where other nodes reach this host's peer port (the host's own address, not loopback). */
  peerAddress: string;
  deployer: Deployer;
}

/** Bytes of one upload to a host: what (raftd, Node v20…), sent so far, its size. */
export type UploadListener = NonNullable<DeployOptions['onProgress']>;

/** Where remote clusters find their hosts: the host profiles and their pooled connections. */
export interface HostLookup {
  /** The shell of a host profile (one connection per host, shared by every cluster on it). */
  shell(profile: string): RemoteShell;
  /** The profile's address: where the other nodes reach a node's peer port on that host. */
  address(profile: string): string;
  /** The name the operator gave the profile: what progress and messages call the host (not its id). */
  displayName?(profile: string): string;
}

export class RemoteHost {
  readonly name: string;
  readonly shell: RemoteShell;
  readonly peerAddress: string;
  private deployed: Promise<Deployment> | null = null;
  private readonly uploadListeners = new Set<UploadListener>();

  constructor(private readonly options: RemoteHostOptions) {
    this.name = options.name;
    this.shell = options.shell;
    this.peerAddress = options.peerAddress;
  }

  /** What the operator calls this host: progress and messages name it so, never by the profile id. */
  get displayName(): string {
    return this.options.displayName?.() ?? this.name;
  }

  /**
   * raftd on this host, deployed if needed (once per console session); a failed deploy is tried again
   * on the next call. `uploadRuntime` (opt-in) sends the console's Node where the host has none; once
   * there, later deploys find it without the flag. `signal` stops a deploy this call starts (one already
   * under way is shared by its callers and runs on).
   */
  deployment(uploadRuntime = false, signal?: AbortSignal): Promise<Deployment> {
    const onProgress: UploadListener = (what, sent, total) => {
      for (const listener of this.uploadListeners) listener(what, sent, total);
    };
    this.deployed ??= this.options.deployer.deploy(this.shell, { uploadRuntime, onProgress, ...(signal && { signal }) }).catch((error: unknown) => {
      this.deployed = null;
      throw error;
    });
    return this.deployed;
  }

  /** Follows the bytes of this host's uploads, whoever started the deploy; returns the unsubscribe. */
  onUpload(listener: UploadListener): () => void {
    this.uploadListeners.add(listener);
    return () => this.uploadListeners.delete(listener);
  }

  /** Deploys again now (the operator asked): what this deploy sent, and the session's deployment from now on. */
  redeploy(uploadRuntime = false): Promise<Deployment> {
    this.deployed = null;
    return this.deployment(uploadRuntime);
  }

  /** The deployment of this session, if raftd was deployed (or found) already. */
  async knownDeployment(): Promise<Deployment | null> {
    return this.deployed ? this.deployed.catch(() => null) : null;
  }

  /** `count` ports free on this host both on its peer address and on loopback, none of `avoid`. */
  async freePorts(count: number, avoid: ReadonlySet<number>): Promise<number[]> {
    const { nodePath, bundlePath } = await this.deployment();
    const hosts = [this.peerAddress, '127.0.0.1'].filter((h, i, all) => all.indexOf(h) === i);
    const wanted = count + avoid.size;
    const result = await this.shell.exec([nodePath, bundlePath, 'ports', String(Math.min(wanted, 200)), ...hosts].map(shellQuote).join(' '), { timeoutMs: 20_000 });
    const ports = result.stdout.split('\n').map(Number).filter((p) => Number.isInteger(p) && p > 0 && !avoid.has(p));
    if (result.code !== 0 || ports.length < count) {
      throw new ApiError('unavailable', `${this.displayName}: could not find ${count} free ports on ${hosts.join(' and ')}: ${result.stderr.trim() || 'too few free'}`);
    }
    return ports.slice(0, count);
  }

  /**
   * `count` ports that no TCP socket on the host uses now, read from the kernel's tables (nothing deployed
   * needed: remote.clusterPlan changes nothing), below Linux's ephemeral range, none of `avoid`. raftd's
   * starter checks them again when the node starts.
   */
  async unusedPorts(count: number, avoid: ReadonlySet<number>): Promise<number[]> {
    const result = await this.shell.exec('cat /proc/net/tcp /proc/net/tcp6 2>/dev/null; true', { timeoutMs: 20_000 });
    const used = new Set(avoid);
    for (const line of result.stdout.split('\n')) {
      const local = line.trim().split(/\s+/)[1];
      const port = local ? parseInt(local.slice(local.lastIndexOf(':') + 1), 16) : NaN;
      if (Number.isInteger(port)) used.add(port);
    }
    const [low, high] = PLANNED_PORTS;
    const span = high - low;
    const start = Math.floor(Math.random() * span);
    const ports: number[] = [];
    for (let i = 0; i < span && ports.length < count; i++) {
      const port = low + ((start + i) % span);
      if (!used.has(port)) ports.push(port);
    }
    if (ports.length < count) throw new ApiError('unavailable', `${this.displayName}: fewer than ${count} unused ports between ${low} and ${high}`);
    return ports;
  }
}

/** Where planned nodes listen: below Linux's ephemeral ports (32768–60999), so no outgoing connection takes them meanwhile. */
export const PLANNED_PORTS: readonly [number, number] = [20000, 32768];

/** Where the operator asked the next added node to run, and whether the host may get the console's Node. */
export interface NodePlacement {
  profile: string;
  uploadRuntime: boolean;
}

/** The console's remote hosts, one RemoteHost per profile, shared by every cluster that runs nodes there. */
export class RemoteHosts {
  private readonly hosts = new Map<string, RemoteHost>();
  /** Where the next node added to a cluster goes, when the operator chose a host. */
  private readonly placements = new Map<string, NodePlacement>();

  constructor(
    private readonly directory: HostLookup,
    readonly deployer: Deployer = new Deployer(),
  ) {}

  get(profile: string): RemoteHost {
    let host = this.hosts.get(profile);
    if (!host) {
      host = new RemoteHost({
        name: profile,
        displayName: () => this.displayName(profile),
        shell: this.directory.shell(profile),
        peerAddress: this.directory.address(profile),
        deployer: this.deployer,
      });
      this.hosts.set(profile, host);
    }
    return host;
  }

  /** The profile's name as the operator gave it; its id when the profile is gone (deleted meanwhile). */
  private displayName(profile: string): string {
    try {
      return this.directory.displayName?.(profile) ?? profile;
    } catch {
      return profile;
    }
  }

  /** What deploying raftd to the host would send (remote.plan). */
  async plan(profile: string, uploadRuntime: boolean): Promise<RemoteDeployPlan> {
    return (await this.planOn(profile, uploadRuntime)).view;
  }

  /** The deploy plan as the API shows it, and the remote user's home it was made for. */
  async planOn(profile: string, uploadRuntime: boolean): Promise<{ view: RemoteDeployPlan; home: string }> {
    const plan = await this.deployer.plan(this.get(profile).shell, { uploadRuntime });
    const runtime = plan.runtime;
    const view: RemoteDeployPlan = {
      host: profile,
      os: plan.facts.os,
      arch: plan.facts.arch,
      hostNode: plan.facts.node?.version ?? null,
      runtime: runtime.source,
      runtimeVersion: runtime.version,
      bundleBytes: plan.bundle.bytes,
      bundlePresent: plan.bundle.present,
      ...(runtime.source === 'uploaded' && { runtimeBytes: runtime.bytes, runtimePresent: runtime.present }),
      uploadBytes: plan.uploadBytes,
    };
    return { view, home: plan.facts.home };
  }

  /** Deploys raftd to the host now (remote.deploy): nothing is sent when it is there. */
  async deploy(profile: string, uploadRuntime: boolean): Promise<RemoteDeployment> {
    const deployment = await this.get(profile).redeploy(uploadRuntime);
    return { host: profile, uploadedBytes: deployment.uploadedBytes, uploaded: deployment.uploaded, removed: deployment.removed, nodePath: deployment.nodePath, bundlePath: deployment.bundlePath };
  }

  /** The host the next node added to the cluster (the guided "add node") runs on. */
  placeNextNode(clusterId: string, placement: NodePlacement): void {
    this.placements.set(clusterId, placement);
  }

  /** The chosen host for the cluster's next node, once; undefined when none was chosen. */
  takePlacement(clusterId: string): NodePlacement | undefined {
    const placement = this.placements.get(clusterId);
    this.placements.delete(clusterId);
    return placement;
  }
}
