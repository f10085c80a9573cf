/** What the server says at `/cluster.json` (server/app.ts): `npm start` has no node name and no ports. */
export interface ClusterInfo {
  readonly node: string | null;
  readonly ports: readonly number[];
}

const SINGLE: ClusterInfo = { node: null, ports: [] };

/** The page's server's cluster info; a single server when it has none to give. */
export async function loadClusterInfo(): Promise<ClusterInfo> {
  try {
    const response = await fetch('/cluster.json', { cache: 'no-store' });
    const info = (await response.json()) as Partial<ClusterInfo>;
    const ports = Array.isArray(info.ports) ? info.ports.filter((port): port is number => Number.isInteger(port)) : [];
    return { node: typeof info.node === 'string' ? info.node : null, ports };
  } catch {
    return SINGLE;
  }
}

/**
 * Which server the client talks to. `npm start`: the page's own, always. The cluster: the page's
 * own node first, then every new socket goes to the next node in turn, so a reconnect after a
 * node died lands on a live one (a tracked subscription resumes on any node). The token endpoint
 * follows the socket: a dead page server does not stop the token refreshes.
 */
export class NodeRing {
  private index: number;
  private started = false;

  constructor(private readonly info: ClusterInfo) {
    this.index = Math.max(0, info.ports.indexOf(Number(location.port)));
  }

  /** For the client's `url` option: called once per socket. */
  public readonly wsUrl = (): string => {
    if (this.started && this.info.ports.length > 1) this.index = (this.index + 1) % this.info.ports.length;
    this.started = true;
    return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${this.host()}/trpc`;
  };

  /** The origin of the node the latest socket went to ('' — the page's own — outside a cluster). */
  public apiOrigin(): string {
    return this.info.ports.length === 0 ? '' : `${location.protocol}//${this.host()}`;
  }

  private host(): string {
    const port = this.info.ports[this.index];
    return port === undefined ? location.host : `${location.hostname}:${port}`;
  }
}
