// A small PKI for one cluster: its own CA, a certificate per node and per client (console,
// raftctl), as raftd's mutual TLS expects them (see tls.ts): a node's names its id in the subject
// CN with serverAuth + clientAuth usage and its addresses as SANs; a client's has clientAuth only.
// Node's crypto verifies certificates but cannot issue them: @peculiar/x509 builds them, signing
// with Node's WebCrypto. Keys are ECDSA P-256: small, and generated in a millisecond.
import 'reflect-metadata'; // @peculiar/x509's dependency injection (tsyringe) needs it, before the import
import * as x509 from '@peculiar/x509';
import { KeyObject, createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { TlsFiles, TlsMaterial } from './tls.js';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 60 * 60 * 1000;
/** Certificates start an hour back, so a peer whose clock is a little behind accepts them. */
const CLOCK_SKEW_MS = 60 * 60 * 1000;

/** A cluster's CA: its certificate (give it to every node and client) and its key (keep it private). */
export interface ClusterCa {
  cert: string;
  key: string;
}

export interface ValidityOptions {
  /** Default 10 years for a CA, 5 for the certificates it issues. */
  validDays?: number;
  /** When the validity starts (default now); tests issue expired certificates with it. */
  now?: Date;
}

/** Creates the CA of one cluster; `clusterId` goes in its name, so CAs of two clusters are told apart. */
export async function createClusterCa(options: { clusterId: string } & ValidityOptions): Promise<ClusterCa> {
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: distinguishedName(`raft cluster ${options.clusterId} CA`),
    ...validity(options, 3650),
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: cert.toString('pem'), key: await privateKeyPem(keys.privateKey) };
}

/**
 * A node's certificate: subject CN = `nodeId`, SANs = `hosts` (IP addresses and DNS names its
 * client and peer addresses use, so HTTPS clients can check the host too). Returns what raftd's
 * --tls-cert/--tls-key/--tls-ca take.
 */
export async function issueNodeCertificate(ca: ClusterCa, options: { nodeId: string; hosts: string[] } & ValidityOptions): Promise<TlsMaterial> {
  if (!options.nodeId) throw new Error('a node certificate needs the node id');
  if (options.hosts.length === 0) throw new Error(`the certificate of node ${options.nodeId} needs at least one host name or address`);
  const names = options.hosts.map((host): x509.JsonGeneralName => ({ type: isIP(host) ? 'ip' : 'dns', value: host }));
  return issue(ca, options.nodeId, [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth], options, [new x509.SubjectAlternativeNameExtension(names)]);
}

/** A client's certificate (the console, raftctl): it may call raftd's client port, never act as a peer. */
export async function issueClientCertificate(ca: ClusterCa, options: { name: string } & ValidityOptions): Promise<TlsMaterial> {
  if (!options.name) throw new Error('a client certificate needs a name');
  return issue(ca, options.name, [x509.ExtendedKeyUsage.clientAuth], options, []);
}

/**
 * Writes `<name>.crt`, `<name>.key` (0600) and `ca.crt` into `dir` (created 0700), and returns
 * their paths: raftd's --tls-cert, --tls-key and --tls-ca.
 */
export async function writeTlsFiles(dir: string, name: string, material: TlsMaterial): Promise<TlsFiles> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const files = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`), ca: join(dir, 'ca.crt') };
  await writeFile(files.key, material.key, { mode: 0o600 });
  await writeFile(files.cert, material.cert, { mode: 0o644 });
  await writeFile(files.ca, material.ca, { mode: 0o644 });
  return files;
}

async function issue(ca: ClusterCa, commonName: string, usages: x509.ExtendedKeyUsage[], options: ValidityOptions, extra: x509.Extension[]): Promise<TlsMaterial> {
  const caCert = new x509.X509Certificate(ca.cert);
  const caKey = await importSigningKey(ca.key);
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: distinguishedName(commonName),
    issuer: caCert.subject,
    ...validity(options, 5 * 365),
    publicKey: keys.publicKey,
    signingKey: caKey as unknown as CryptoKey,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension(usages, false),
      await x509.AuthorityKeyIdentifierExtension.create(caCert, false),
      ...extra,
    ],
  });
  return { cert: cert.toString('pem'), key: await privateKeyPem(keys.privateKey), ca: ca.cert };
}

async function generateKeys(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  return KeyObject.from(key as unknown as webcrypto.CryptoKey).export({ type: 'pkcs8', format: 'pem' }) as string;
}

async function importSigningKey(pem: string): Promise<webcrypto.CryptoKey> {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (error) {
    throw new Error(`the CA key is not a PEM private key: ${(error as Error).message}`);
  }
  if (key.asymmetricKeyType !== 'ec') throw new Error('the CA key is not an ECDSA P-256 key (made by createClusterCa)');
  return webcrypto.subtle.importKey('pkcs8', key.export({ type: 'pkcs8', format: 'der' }), { ...KEY_ALGORITHM }, false, ['sign']);
}

/** RFC 5280: positive, at most 20 octets; random, so two CAs never issue the same one. */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] &= 0x7f;
  return bytes.toString('hex');
}

/** "CN=<name>" with the name escaped as RFC 4514 asks (ids may hold '.', names anything). */
function distinguishedName(commonName: string): string {
  return `CN=${commonName.replace(/([,+"\\<>;=#])/g, '\\$1')}`;
}

function validity(options: ValidityOptions, defaultDays: number): { notBefore: Date; notAfter: Date } {
  const start = (options.now ?? new Date()).getTime();
  return { notBefore: new Date(start - CLOCK_SKEW_MS), notAfter: new Date(start + (options.validDays ?? defaultDays) * DAY_MS) };
}
