// The window's security decisions as plain functions (no electron import), so they are tested
// without the Electron runtime. Electron's security checklist: validate IPC senders, block
// navigation and new windows, open only http(s) links outside.

/** The custom scheme the built renderer is served from (never file://). */
export const APP_SCHEME = 'app';
export const APP_ORIGIN = `${APP_SCHEME}://renderer`;

/**
 * The dev server to load the renderer from: only in a development build (not packaged), and only an
 * http(s) URL on this machine. A packaged app ignores ELECTRON_RENDERER_URL, or anyone who can set
 * an environment variable could point the window, with its IPC access, at a page of their own.
 */
export function trustedDevServerUrl(env: Record<string, string | undefined>, isPackaged: boolean): string | undefined {
  const raw = env.ELECTRON_RENDERER_URL;
  if (isPackaged || !raw) return undefined;
  try {
    const url = new URL(raw);
    const loopback = url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]';
    return (url.protocol === 'http:' || url.protocol === 'https:') && loopback ? raw : undefined;
  } catch {
    return undefined;
  }
}

/** Origins allowed to talk to the main process: the app itself, plus the dev server in development. */
export function allowedOrigins(devServerUrl?: string): Set<string> {
  const origins = new Set([APP_ORIGIN]);
  if (devServerUrl) origins.add(new URL(devServerUrl).origin);
  return origins;
}

export function originOf(url: string): string | null {
  try {
    const parsed = new URL(url);
    // Custom schemes have an opaque origin ("null"): rebuild it from scheme and host.
    return parsed.origin !== 'null' ? parsed.origin : `${parsed.protocol}//${parsed.host}`;
  } catch {
    return null;
  }
}

/** An IPC message is accepted only from the top frame of our window, showing our own page. */
export function isTrustedSender(frameUrl: string | undefined, isTopFrame: boolean, origins: Set<string>): boolean {
  if (!frameUrl || !isTopFrame) return false;
  const origin = originOf(frameUrl);
  return origin !== null && origins.has(origin);
}

/** Links leave the app only to the user's browser and only for http(s). */
export function isExternalLink(url: string): boolean {
  try {
    const { protocol } = new URL(url);
    return protocol === 'https:' || protocol === 'http:';
  } catch {
    return false;
  }
}
