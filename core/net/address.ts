// host:port addresses, parsed once for everyone: raftd's flags, --cluster, the member API,
// raftctl and the member directory applied from the log. An address ends up in sockets, URLs
// and the Location header, so only plain forms pass: IPv4, [IPv6], or a DNS hostname, and a port.
import { isIPv4, isIPv6 } from 'node:net';
import * as z from '../validation.js';

export interface HostPort {
  /** IPv6 without its brackets. */
  host: string;
  port: number;
}

export const MAX_ADDRESS_LENGTH = 261; // a 253-character hostname, ':' and five digits, brackets

const HOST_LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const PORT = /^[0-9]{1,5}$/;

export class AddressError extends Error {
  constructor(
    readonly address: string,
    readonly reason: string,
  ) {
    super(reason);
    this.name = 'AddressError';
  }
}

/** The reason `address` is not a usable host:port, or null if it is. */
export function addressProblem(address: unknown): string | null {
  if (typeof address !== 'string') return 'must be a string host:port';
  if (address.length === 0) return 'is empty; expected host:port';
  if (address.length > MAX_ADDRESS_LENGTH) return `is longer than ${MAX_ADDRESS_LENGTH} characters`;
  if (/[\x00-\x20\x7f-\uffff]/.test(address)) return 'contains spaces, control characters or non-ASCII characters';
  let host: string;
  let portText: string;
  if (address.startsWith('[')) {
    const close = address.indexOf(']');
    if (close < 0 || address[close + 1] !== ':') return 'an IPv6 address needs the form [v6]:port';
    host = address.slice(1, close);
    portText = address.slice(close + 2);
    if (!isIPv6(host) || host.includes('%')) return `"${host}" is not an IPv6 address`;
  } else {
    const colon = address.lastIndexOf(':');
    if (colon < 0) return 'has no port; expected host:port';
    host = address.slice(0, colon);
    portText = address.slice(colon + 1);
    if (host.includes(':')) return 'an IPv6 address must be in brackets: [v6]:port';
    if (host.length === 0) return 'has no host; expected host:port';
    if (/^[0-9.]+$/.test(host)) {
      if (!isIPv4(host)) return `"${host}" is not an IPv4 address`;
    } else if (host.length > 253 || !host.split('.').every((label) => HOST_LABEL.test(label))) {
      return `"${host}" is not a hostname (letters, digits and inner hyphens, dot-separated)`;
    }
  }
  if (!PORT.test(portText)) return `port "${portText}" is not a number`;
  const port = Number(portText);
  if (port < 1 || port > 65535) return `port ${port} is outside 1..65535`;
  return null;
}

/** Parses "host:port" or "[v6]:port"; throws an AddressError naming `what` and the reason. */
export function parseHostPort(address: string, what = 'address'): HostPort {
  const problem = addressProblem(address);
  if (problem) throw new AddressError(address, `invalid ${what} ${JSON.stringify(String(address).slice(0, 80))}: ${problem}`);
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon);
  return { host: host.startsWith('[') ? host.slice(1, -1) : host, port: Number(address.slice(colon + 1)) };
}

export function isHostPort(address: unknown): address is string {
  return addressProblem(address) === null;
}

export function formatHostPort({ host, port }: HostPort): string {
  return isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

/** A host:port string field of a request body; the issue says what is wrong with it. */
export const hostPortString = z.string().check(
  z.superRefine((value, ctx) => {
    const problem = addressProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem, input: value });
  }),
);
