// host:port as raftd accepts it everywhere: flags, --cluster, the member API, raftctl, the log.
import { describe, expect, it } from 'vitest';
import { addressProblem, formatHostPort, parseHostPort } from '../../../core/net/address.js';

describe('parseHostPort', () => {
  it('takes IPv4, bracketed IPv6 and hostnames with a port in 1..65535', () => {
    expect(parseHostPort('127.0.0.1:7001')).toEqual({ host: '127.0.0.1', port: 7001 });
    expect(parseHostPort('[::1]:1')).toEqual({ host: '::1', port: 1 });
    expect(parseHostPort('[2001:db8::42]:65535')).toEqual({ host: '2001:db8::42', port: 65535 });
    expect(parseHostPort('localhost:8001')).toEqual({ host: 'localhost', port: 8001 });
    expect(parseHostPort('node-1.raft.example:443')).toEqual({ host: 'node-1.raft.example', port: 443 });
  });

  it('refuses each malformed address with the reason', () => {
    const cases: Array<[string, RegExp]> = [
      ['127.0.0.1', /no port/],
      ['localhost', /no port/],
      ['', /empty/],
      [':7001', /no host/],
      ['127.0.0.1:0', /outside 1\.\.65535/],
      ['127.0.0.1:65536', /outside 1\.\.65535/],
      ['127.0.0.1:+80', /not a number/],
      ['127.0.0.1:80 ', /spaces/],
      ['127.0.0.1:80\r\nX-Evil: 1', /control characters/],
      ['127.0.0.1:80\n', /control characters/],
      ['a b:80', /spaces/],
      ['hôte:80', /non-ASCII/],
      ['::1:80', /IPv6 address must be in brackets/],
      ['[::1]80', /\[v6\]:port/],
      ['[not-v6]:80', /not an IPv6 address/],
      ['[fe80::1%eth0]:80', /not an IPv6 address/],
      ['300.1.1.1:80', /not an IPv4 address/],
      ['1.2.3:80', /not an IPv4 address/],
      ['-bad-.example:80', /not a hostname/],
      ['under_score:80', /not a hostname/],
      ['a..b:80', /not a hostname/],
      ['x/y:80', /not a hostname/],
      [`${'a'.repeat(64)}:80`, /not a hostname/],
      [`${'a'.repeat(300)}:80`, /longer than/],
    ];
    for (const [address, reason] of cases) {
      expect(addressProblem(address), address).toMatch(reason);
      expect(() => parseHostPort(address, '--peer'), address).toThrow(/^invalid --peer /);
    }
    expect(addressProblem(7001)).toMatch(/string/);
  });

  it('formats what it parses back to the same text', () => {
    for (const address of ['127.0.0.1:7001', '[::1]:9', 'host.example:80']) expect(formatHostPort(parseHostPort(address))).toBe(address);
  });
});
