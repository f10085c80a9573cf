import { networkInterfaces } from 'node:os';

/** The host names that mean "this machine only". */
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/** Whether `host` means every interface. */
export function isWildcardHost(host: string): boolean {
  return host === '0.0.0.0' || host === '::';
}

/** `host` as it goes in a URL: an IPv6 address in brackets. */
function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** The address `npm start` prints: `localhost` when the server answers there. */
export function pageUrl(host: string, port: number): string {
  return `http://${LOOPBACK.has(host) || isWildcardHost(host) ? 'localhost' : urlHost(host)}:${port}`;
}

/**
 * The origins the page can be loaded from, which the token API and the WebSocket accept: the
 * loopback names, the host itself, and — on a wildcard host — every address of this machine's
 * interfaces. A page on another origin (a DNS-rebinding name included) is refused.
 */
export function pageOrigins(host: string, port: number): string[] {
  const hosts = new Set(['localhost', '127.0.0.1', '::1']);
  if (isWildcardHost(host)) {
    for (const addresses of Object.values(networkInterfaces())) {
      // Link-local IPv6 addresses need a zone id, which no browser puts in an origin.
      for (const { address, scopeid } of addresses ?? []) if (!scopeid) hosts.add(address);
    }
  } else {
    hosts.add(host);
  }
  return [...hosts].map((name) => `http://${urlHost(name)}:${port}`);
}

/** One line that says how to fix a failed `listen`, or null when it is not one a setting fixes. */
export function listenErrorMessage(error: unknown, host: string, port: number): string | null {
  switch ((error as { code?: unknown } | null)?.code) {
    case 'EADDRINUSE':
      return `port ${port} is taken, try PORT=${port + 1} npm start (or PORT=0 for any free port)`;
    case 'EACCES':
      return `port ${port} needs privileges this process lacks, try a port above 1023 (PORT=3000)`;
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
      return `HOST=${host} is not an address of this machine, try HOST=127.0.0.1 (or HOST=0.0.0.0 for every interface)`;
    default:
      return null;
  }
}
