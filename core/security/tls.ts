// TLS material for raftd (peer and client ports) and its clients: PEM files checked at load time
// so that a wrong path, an expired certificate or one from another CA is a clear error at start,
// not a stream of failed handshakes. How a certificate names its holder (the PKI issues them so):
//   - a node's certificate: subject CN = the node id, extended key usage serverAuth + clientAuth;
//   - a client's (console, raftctl): subject CN = a name, clientAuth only, so it cannot act as a peer.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { PeerCertificate } from 'node:tls';

/** PEM text of a certificate, its private key and the cluster CA that signs every certificate. */
export interface TlsMaterial {
  cert: string;
  key: string;
  ca: string;
}

export interface TlsFiles {
  cert: string;
  key: string;
  ca: string;
}

export const EKU_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
export const EKU_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

/** Reads and checks the three files; throws an Error naming the file and what is wrong. */
export async function loadTlsFiles(files: TlsFiles, now = new Date()): Promise<TlsMaterial> {
  const read = async (what: string, path: string) => {
    try {
      return await readFile(path, 'utf8');
    } catch (error) {
      throw new Error(`cannot read the TLS ${what} ${path}: ${(error as Error).message}`);
    }
  };
  const material = { cert: await read('certificate', files.cert), key: await read('key', files.key), ca: await read('CA certificate', files.ca) };
  checkTlsMaterial(material, now, files);
  return material;
}

/** Throws when the key does not match the certificate, or the certificate is not valid now under the CA. */
export function checkTlsMaterial(material: TlsMaterial, now = new Date(), names: TlsFiles = { cert: 'certificate', key: 'key', ca: 'CA certificate' }): void {
  const cert = parseCertificate(material.cert, names.cert);
  const ca = parseCertificate(material.ca, names.ca);
  let key;
  try {
    key = createPrivateKey(material.key);
  } catch (error) {
    throw new Error(`${names.key} is not a PEM private key: ${(error as Error).message}`);
  }
  if (!cert.checkPrivateKey(key)) throw new Error(`${names.key} is not the key of ${names.cert}`);
  if (!ca.ca) throw new Error(`${names.ca} is not a CA certificate`);
  if (!cert.verify(ca.publicKey) || !cert.checkIssued(ca)) throw new Error(`${names.cert} is not signed by the CA in ${names.ca}`);
  for (const [what, c] of [[names.cert, cert], [names.ca, ca]] as const) {
    if (now < new Date(c.validFrom)) throw new Error(`${what} is not valid before ${c.validFrom}`);
    if (now > new Date(c.validTo)) throw new Error(`${what} expired on ${c.validTo}`);
  }
}

function parseCertificate(pem: string, what: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (error) {
    throw new Error(`${what} is not a PEM certificate: ${(error as Error).message}`);
  }
}

/** The holder a node certificate names, or why it is not a node certificate. */
export function nodeIdentity(cert: PeerCertificate | undefined): { id: string } | { error: string } {
  if (!cert || !cert.subject) return { error: 'no certificate' };
  const cn = cert.subject.CN;
  const id = Array.isArray(cn) ? undefined : cn;
  if (!id) return { error: 'certificate names no node (no subject CN)' };
  if (!cert.ext_key_usage?.includes(EKU_SERVER_AUTH) || !cert.ext_key_usage.includes(EKU_CLIENT_AUTH)) {
    return { error: `certificate of "${id}" is not a node certificate (needs serverAuth and clientAuth usage)` };
  }
  return { id };
}
