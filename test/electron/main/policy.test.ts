import { describe, expect, it } from 'vitest';
import { allowedOrigins, APP_ORIGIN, isExternalLink, isTrustedSender } from '../../../electron/main/policy.js';
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
