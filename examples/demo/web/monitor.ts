import { decodeJwt } from 'jose';
import type { AuthState, TokenSource, WsClient, WsConnectionState } from 'trpc-lanyard/client';
import { lifecycleEvents } from './lifecycle.js';
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
  /** Why the token endpoint refused (401) once the user was signed out server-side; the client is closed. */
  readonly signedOut: string | null;
  readonly socketsOpened: number;
  readonly refreshes: number;
  /** In-band grant refreshes the server accepted (`lanyard.grant` answered), every subscription's together: here, the document's. */
  readonly grantRefreshes: number;
  /** The confirmed session's expiry (server clock), or null. */
  readonly expiresAt: number | null;
  /** A short id of the newest access token (its `jti`), to watch tokens rotate. */
  readonly tokenId: string | null;
  /** The newest access token's lifetime (`exp - iat`), for the countdown bar. */
  readonly tokenLifetimeMs: number | null;
  /** The newest access token's `role` claim (what the store said when it was issued). */
  readonly tokenRole: string | null;
  /** The role claim of the token the server accepted last, at connect time or in band. */
  readonly acceptedRole: string | null;
  /** Newest first. */
  readonly log: readonly LogEntry[];
}

const LOG_LIMIT = 12;
/** `session` and `stats` are plain getters: read them this often. */
const POLL_MS = 200;

type TokenInfo = Pick<MonitorSnapshot, 'tokenId' | 'tokenLifetimeMs' | 'tokenRole'>;
/** What a snapshot carries over from the one before. */
type Carried = TokenInfo & Pick<MonitorSnapshot, 'acceptedRole' | 'log'>;

/** What the UI shows of a token. Decoding is not verifying: only the server trusts a token. */
function tokenInfoOf(token: string): TokenInfo {
  try {
    const { jti, iat, exp, role } = decodeJwt(token);
    return {
      tokenId: typeof jti === 'string' ? jti.slice(0, 8) : null,
      tokenLifetimeMs: typeof iat === 'number' && typeof exp === 'number' ? (exp - iat) * 1000 : null,
      tokenRole: typeof role === 'string' ? role : null,
    };
  } catch {
    return { tokenId: null, tokenLifetimeMs: null, tokenRole: null };
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
  private signedOut: string | null = null;

  constructor(
    private readonly wsClient: WsClient,
    tokens: TokenSource,
    firstToken: string,
  ) {
    this.snapshot = this.read(wsClient.connectionState.get(), { ...tokenInfoOf(firstToken), acceptedRole: null, log: [] });
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

  /** The token endpoint said the user is signed out (401): shown until the page leaves. */
  public markSignedOut(message: string): void {
    this.signedOut ??= message;
    this.update(this.wsClient.connectionState.get());
  }

  public dispose(): void {
    for (const dispose of this.disposers.splice(0)) dispose();
    this.listeners.clear();
  }

  private read(state: WsConnectionState, rest: Carried): MonitorSnapshot {
    const { socketsOpened, refreshes, grantRefreshes } = this.wsClient.stats;
    return {
      label: connectionLabel(state, socketsOpened, this.signedOut !== null),
      auth: state.auth,
      stop: stopOf(state),
      signedOut: this.signedOut,
      socketsOpened,
      refreshes,
      grantRefreshes,
      expiresAt: this.wsClient.session?.expiresAt ?? null,
      ...rest,
    };
  }

  private update(state: WsConnectionState, token?: TokenInfo): void {
    const before = this.snapshot;
    const carried: Carried = { tokenId: before.tokenId, tokenLifetimeMs: before.tokenLifetimeMs, tokenRole: before.tokenRole, ...token, acceptedRole: before.acceptedRole, log: before.log };
    let next = this.read(state, carried);
    // The server accepted the newest token: in band (a refresh counted) or on a new socket.
    const accepted = next.refreshes !== before.refreshes || (next.auth === 'authenticated' && before.auth !== 'authenticated' && before.auth !== 'refreshing');
    if (accepted) next = { ...next, acceptedRole: next.tokenRole };
    const events = lifecycleEvents(view(before), view(next));
    const changed =
      events.length > 0 || next.expiresAt !== before.expiresAt || next.auth !== before.auth || next.acceptedRole !== before.acceptedRole || next.grantRefreshes !== before.grantRefreshes;
    if (!changed) return;
    const now = Date.now();
    const log = [...events.reverse().map((text) => ({ at: now, text })), ...before.log].slice(0, LOG_LIMIT);
    this.snapshot = { ...next, log };
    for (const listener of [...this.listeners]) listener();
  }
}

function view(snapshot: MonitorSnapshot) {
  return { ...snapshot, endMessage: snapshot.stop?.message ?? snapshot.signedOut ?? null };
}
