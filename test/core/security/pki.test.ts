// The cluster PKI: what it issues is what raftd's TLS expects, checked with Node's own X.509 parser.
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createClusterCa, issueClientCertificate, issueNodeCertificate, writeTlsFiles, type ClusterCa } from '../../../core/security/pki.js';
import { EKU_CLIENT_AUTH, EKU_SERVER_AUTH, checkTlsMaterial, loadTlsFiles } from '../../../core/security/tls.js';

let ca: ClusterCa;
beforeAll(async () => {
  ca = await createClusterCa({ clusterId: 'prod-1' });
});

let dir = '';
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = '';
});

describe('cluster PKI', () => {
  it('makes a CA named after the cluster that may sign certificates and nothing below them', () => {
    const cert = new X509Certificate(ca.cert);
    expect(cert.ca).toBe(true);
    expect(cert.subject).toBe('CN=raft cluster prod-1 CA');
    expect(cert.checkIssued(cert)).toBe(true);
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
  });

  it('issues a node certificate naming the node, its hosts, and both TLS roles', async () => {
    const node = await issueNodeCertificate(ca, { nodeId: 'n1', hosts: ['127.0.0.1', '::1', 'node1.example'] });
    const cert = new X509Certificate(node.cert);
    expect(cert.subject).toBe('CN=n1');
    expect(cert.ca).toBe(false);
    expect(cert.checkIssued(new X509Certificate(ca.cert))).toBe(true);
    expect(cert.keyUsage?.sort()).toEqual([EKU_SERVER_AUTH, EKU_CLIENT_AUTH].sort());
    expect(cert.subjectAltName).toBe('IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, DNS:node1.example');
    expect(cert.checkHost('node1.example')).toBe('node1.example');
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(node.ca).toBe(ca.cert);
    expect(() => checkTlsMaterial(node)).not.toThrow();
  });

  it('issues a client certificate that can only be a client', async () => {
    const client = await issueClientCertificate(ca, { name: 'console' });
    const cert = new X509Certificate(client.cert);
    expect(cert.subject).toBe('CN=console');
    expect(cert.keyUsage).toEqual([EKU_CLIENT_AUTH]);
    expect(() => checkTlsMaterial(client)).not.toThrow();
  });

  it('escapes names that look like more of a distinguished name', async () => {
    const client = await issueClientCertificate(ca, { name: 'ops,O=evil' });
    // One attribute (Node shows the comma escaped), not a CN and an O.
    expect(new X509Certificate(client.cert).subject).toBe('CN=ops\\,O=evil');
  });

  it('refuses certificates without a holder or hosts, and CA keys it did not make', async () => {
    await expect(issueNodeCertificate(ca, { nodeId: '', hosts: ['127.0.0.1'] })).rejects.toThrow('a node certificate needs the node id');
    await expect(issueNodeCertificate(ca, { nodeId: 'n1', hosts: [] })).rejects.toThrow('needs at least one host');
    await expect(issueNodeCertificate({ cert: ca.cert, key: 'not a key' }, { nodeId: 'n1', hosts: ['127.0.0.1'] })).rejects.toThrow(/the CA key is not a PEM private key/);
  });

  it('writes the files raftd reads, the key private, and loading checks them', async () => {
    dir = await mkdtemp(join(tmpdir(), 'pki-'));
    const files = await writeTlsFiles(join(dir, 'tls'), 'n1', await issueNodeCertificate(ca, { nodeId: 'n1', hosts: ['127.0.0.1'] }));
    expect(files).toEqual({ cert: join(dir, 'tls', 'n1.crt'), key: join(dir, 'tls', 'n1.key'), ca: join(dir, 'tls', 'ca.crt') });
    expect((await stat(files.key)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'tls'))).mode & 0o777).toBe(0o700);
    const loaded = await loadTlsFiles(files);
    expect(loaded.ca).toBe(ca.cert);
  });

  it('loading refuses a key of another certificate, a certificate of another CA, an expired one, and missing files', async () => {
    dir = await mkdtemp(join(tmpdir(), 'pki-'));
    const n1 = await issueNodeCertificate(ca, { nodeId: 'n1', hosts: ['127.0.0.1'] });
    const n2 = await issueNodeCertificate(ca, { nodeId: 'n2', hosts: ['127.0.0.1'] });
    const other = await createClusterCa({ clusterId: 'prod-1' });
    const foreign = await issueNodeCertificate(other, { nodeId: 'n1', hosts: ['127.0.0.1'] });
    const expired = await issueNodeCertificate(ca, { nodeId: 'n1', hosts: ['127.0.0.1'], now: new Date(Date.now() - 30 * 86_400_000), validDays: 7 });
    const write = async (name: string, text: string) => {
      await writeFile(join(dir, name), text);
      return join(dir, name);
    };
    const caFile = await write('ca.crt', ca.cert);
    const files = async (cert: string, key: string) => ({ cert: await write('x.crt', cert), key: await write('x.key', key), ca: caFile });

    await expect(loadTlsFiles(await files(n1.cert, n2.key))).rejects.toThrow(`${join(dir, 'x.key')} is not the key of ${join(dir, 'x.crt')}`);
    await expect(loadTlsFiles(await files(foreign.cert, foreign.key))).rejects.toThrow(`${join(dir, 'x.crt')} is not signed by the CA in ${caFile}`);
    await expect(loadTlsFiles(await files(expired.cert, expired.key))).rejects.toThrow(/x\.crt expired on/);
    await expect(loadTlsFiles(await files(n1.key, n1.key))).rejects.toThrow(/x\.crt is not a PEM certificate/);
    await expect(loadTlsFiles({ cert: join(dir, 'nope.crt'), key: join(dir, 'x.key'), ca: caFile })).rejects.toThrow(/cannot read the TLS certificate .*nope\.crt/);
    await expect(loadTlsFiles({ ...(await files(n1.cert, n1.key)), ca: await write('leaf-as-ca.crt', n2.cert) })).rejects.toThrow(/leaf-as-ca\.crt is not a CA certificate/);
    await expect(loadTlsFiles(await files(n1.cert, n1.key))).resolves.toMatchObject({ cert: n1.cert });
  });
});
