// The window's security decisions as plain functions (no electron import), so they are tested
// without the Electron runtime. Electron's security checklist: validate IPC senders, block
// navigation and new windows, open only http(s) links outside.

/** The custom scheme the built renderer is served from (never file://). */
export const APP_SCHEME = 'app';
export const APP_ORIGIN = `${APP_SCHEME}://renderer`;

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
