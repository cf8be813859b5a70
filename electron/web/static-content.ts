// Serving the built renderer, shared by web mode's HTTP server and Electron's app:// protocol.
import { stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.ttf': 'font/ttf',
};

/** The renderer's policy in both modes: own scripts only, inline styles for the UI kit's CSS-in-JS. */
export function contentSecurityPolicy(connect: string[] = []): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    `connect-src 'self'${connect.map((c) => ` ${c}`).join('')}`,
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'none'",
  ].join('; ');
}

export function contentTypeOf(file: string): string {
  return contentTypes[extname(file)] ?? 'application/octet-stream';
}

/** The file a URL path names inside `root`, or null when it is malformed or would leave the folder. */
export function fileInside(root: string, urlPath: string): string | null {
  let path: string;
  try {
    path = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  const base = normalize(root);
  const file = normalize(join(base, path));
  return file === base || file.startsWith(base.endsWith(sep) ? base : base + sep) ? file : null;
}

/**
 * What to send for a file inside the renderer folder (see fileInside): the file itself, or the app
 * shell (index.html) for client-side routes and /; null when not even the shell is there (not built).
 */
export async function fileOrAppShell(root: string, file: string): Promise<{ file: string; size: number } | null> {
  const info = await stat(file).catch(() => null);
  if (info?.isFile()) return { file, size: info.size };
  const shell = join(root, 'index.html');
  const shellInfo = await stat(shell).catch(() => null);
  return shellInfo?.isFile() ? { file: shell, size: shellInfo.size } : null;
}
