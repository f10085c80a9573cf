import { decodeJwt } from 'jose';
import type { AuthState, TokenSource, WsClient, WsConnectionState } from 'trpc-lanyard/client';
import type { ConnectionLabel, StopInfo } from './status.js';
import { connectionLabel, stopOf } from './status.js';

export interface LogEntry {
  readonly at: number;
  readonly text: string;
}

/** Everything the status panel shows, as one immutable snapshot. */
export interface MonitorSnapshot {
  readonly label: ConnectionLabel;
  readonly auth: AuthState;
  readonly stop: StopInfo | null;
  readonly socketsOpened: number;
  readonly refreshes: number;
  /** The confirmed session's expiry (server clock), or null. */
  readonly expiresAt: number | null;
  /** A short id of the newest access token (its `jti`), to watch tokens rotate. */
  readonly tokenId: string | null;
  /** The newest access token's lifetime (`exp - iat`), for the countdown bar. */
  readonly tokenLifetimeMs: number | null;
  /** Newest first. */
  readonly log: readonly LogEntry[];
}

const LOG_LIMIT = 12;
/** `session` and `stats` are plain getters: read them this often. */
const POLL_MS = 200;

type TokenInfo = Pick<MonitorSnapshot, 'tokenId' | 'tokenLifetimeMs'>;

/** What the UI shows of a token. Decoding is not verifying: only the server trusts a token. */
function tokenInfoOf(token: string): TokenInfo {
  try {
    const { jti, iat, exp } = decodeJwt(token);
    return {
      tokenId: typeof jti === 'string' ? jti.slice(0, 8) : null,
      tokenLifetimeMs: typeof iat === 'number' && typeof exp === 'number' ? (exp - iat) * 1000 : null,
    };
  } catch {
    return { tokenId: null, tokenLifetimeMs: null };
  }
}

/**
 * Watches a client for the UI: `connectionState` and `authState` (subscribables), `stats` and `session`
 * (polled), and the token source; keeps a short lifecycle log. For `useSyncExternalStore`.
 */
export class ConnectionMonitor {
  private snapshot: MonitorSnapshot;
  private readonly listeners = new Set<() => void>();
  private readonly disposers: Array<() => void> = [];

  constructor(
    private readonly wsClient: WsClient,
    tokens: TokenSource,
    firstToken: string,
  ) {
    this.snapshot = this.read(wsClient.connectionState.get(), { ...tokenInfoOf(firstToken), log: [] });
    const subscription = wsClient.connectionState.subscribe({ next: (state) => this.update(state) });
    this.disposers.push(() => subscription.unsubscribe());
    // `auth` changes are emitted on authState; connectionState.get() is current.
    const authSubscription = wsClient.authState.subscribe({ next: () => this.update(this.wsClient.connectionState.get()) });
    this.disposers.push(() => authSubscription.unsubscribe());
    this.disposers.push(tokens.subscribe((token) => this.update(this.wsClient.connectionState.get(), tokenInfoOf(token))));
    const timer = setInterval(() => this.update(this.wsClient.connectionState.get()), POLL_MS);
    this.disposers.push(() => clearInterval(timer));
  }

  public readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  public readonly getSnapshot = (): MonitorSnapshot => this.snapshot;

  public dispose(): void {
    for (const dispose of this.disposers.splice(0)) dispose();
    this.listeners.clear();
  }

  private read(state: WsConnectionState, rest: TokenInfo & Pick<MonitorSnapshot, 'log'>): MonitorSnapshot {
    const { socketsOpened, refreshes } = this.wsClient.stats;
    return {
      label: connectionLabel(state, socketsOpened),
      auth: state.auth,
      stop: stopOf(state),
      socketsOpened,
      refreshes,
      expiresAt: this.wsClient.session?.expiresAt ?? null,
      ...rest,
    };
  }

  private update(state: WsConnectionState, token?: TokenInfo): void {
    const before = this.snapshot;
    const next = this.read(state, { tokenId: before.tokenId, tokenLifetimeMs: before.tokenLifetimeMs, ...token, log: before.log });
    const events: string[] = [];
    if (next.socketsOpened !== before.socketsOpened) events.push(`socket #${next.socketsOpened} opened`);
    if (next.label !== before.label) events.push(next.stop ? `stopped: ${next.stop.message}` : `→ ${next.label}`);
    if (next.refreshes !== before.refreshes) events.push(`token refreshed in band (#${next.refreshes}), same socket`);
    if (next.tokenId !== before.tokenId) events.push(`new access token ${next.tokenId ?? '?'}`);
    const changed = events.length > 0 || next.expiresAt !== before.expiresAt || next.auth !== before.auth;
    if (!changed) return;
    const now = Date.now();
    const log = [...events.reverse().map((text) => ({ at: now, text })), ...before.log].slice(0, LOG_LIMIT);
    this.snapshot = { ...next, log };
    for (const listener of [...this.listeners]) listener();
  }
}
