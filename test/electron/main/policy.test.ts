import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FuseV1Options, FuseVersion } from '@electron/fuses';
import { allowedOrigins, APP_ORIGIN, isExternalLink, isTrustedSender, trustedDevServerUrl } from '../../../electron/main/policy.js';
import { packagedFuses } from '../../../electron/packaging/fuses.js';
import { fileInside } from '../../../electron/web/static-content.js';

describe('main window policy', () => {
  const origins = allowedOrigins();

  it('accepts IPC only from the top frame of the app page', () => {
    expect(isTrustedSender(`${APP_ORIGIN}/index.html`, true, origins)).toBe(true);
    expect(isTrustedSender(`${APP_ORIGIN}/index.html`, false, origins)).toBe(false);
    expect(isTrustedSender('https://example.com/', true, origins)).toBe(false);
    expect(isTrustedSender('app://other/index.html', true, origins)).toBe(false);
    expect(isTrustedSender('file:///etc/passwd', true, origins)).toBe(false);
    expect(isTrustedSender(undefined, true, origins)).toBe(false);
  });

  it('trusts the dev server origin only when one is configured', () => {
    expect(isTrustedSender('http://localhost:5173/', true, origins)).toBe(false);
    expect(isTrustedSender('http://localhost:5173/', true, allowedOrigins('http://localhost:5173'))).toBe(true);
  });

  it('opens only http(s) links outside the app', () => {
    expect(isExternalLink('https://raft.github.io/')).toBe(true);
    expect(isExternalLink('http://127.0.0.1:8001/v1/status')).toBe(true);
    expect(isExternalLink('file:///etc/passwd')).toBe(false);
    expect(isExternalLink('javascript:alert(1)')).toBe(false);
    expect(isExternalLink('smb://host/share')).toBe(false);
    expect(isExternalLink('not a url')).toBe(false);
  });

  it('serves renderer files from inside their folder only', () => {
    expect(fileInside('/app/out/renderer', '/assets/index.js')).toBe('/app/out/renderer/assets/index.js');
    expect(fileInside('/app/out/renderer', '/../../main/index.js')).toBeNull();
    expect(fileInside('/app/out/renderer', '/..%2f..%2fsecrets')).toBeNull();
    expect(fileInside('/app/out/renderer', '/%E0%A4%A')).toBeNull();
  });
});

describe('the dev server URL', () => {
  it('is trusted only in a development build, and only on this machine over http(s)', () => {
    const env = { ELECTRON_RENDERER_URL: 'http://localhost:5173' };
    expect(trustedDevServerUrl(env, false)).toBe('http://localhost:5173');
    // A packaged app ignores it: anyone able to set an environment variable could point the window elsewhere.
    expect(trustedDevServerUrl(env, true)).toBeUndefined();
    expect(trustedDevServerUrl({}, false)).toBeUndefined();
    expect(trustedDevServerUrl({ ELECTRON_RENDERER_URL: 'https://evil.example/' }, false)).toBeUndefined();
    expect(trustedDevServerUrl({ ELECTRON_RENDERER_URL: 'file:///tmp/x.html' }, false)).toBeUndefined();
    expect(trustedDevServerUrl({ ELECTRON_RENDERER_URL: 'http://127.0.0.1:5173/' }, false)).toBe('http://127.0.0.1:5173/');
  });

  it('is read by the main process through that rule only', () => {
    const main = readFileSync(join(import.meta.dirname, '../../../electron/main/index.ts'), 'utf8');
    expect(main).toContain('trustedDevServerUrl(process.env, app.isPackaged)');
    expect(main.match(/ELECTRON_RENDERER_URL/g)).toBeNull();
  });
});

describe('the packaged app\'s fuses', () => {
  it('turn off running as Node, NODE_OPTIONS and inspect flags, and turn on cookie encryption and ASAR integrity', () => {
    expect(packagedFuses).toMatchObject({
      version: FuseVersion.V1,
      strictlyRequireAllFuses: true,
      [FuseV1Options.RunAsNode]: false,
      [FuseV1Options.EnableNodeOptionsEnvironmentVariable]: false,
      [FuseV1Options.EnableNodeCliInspectArguments]: false,
      [FuseV1Options.EnableCookieEncryption]: true,
      [FuseV1Options.EnableEmbeddedAsarIntegrityValidation]: true,
      [FuseV1Options.OnlyLoadAppFromAsar]: true,
      [FuseV1Options.GrantFileProtocolExtraPrivileges]: false,
    });
  });

  it('decide every fuse the installed Electron knows of', () => {
    const known = Object.values(FuseV1Options).filter((v): v is FuseV1Options => typeof v === 'number');
    expect(known.filter((fuse) => typeof packagedFuses[fuse] !== 'boolean')).toEqual([]);
  });
});
