import { decodeJwt } from 'jose';
import type { GrantProvider, GrantRequestReason } from 'trpc-lanyard/client';
import type { IssuedGrant } from './api.js';

/** The procedure whose subscriptions need a document grant. */
export const DOC_WATCH_PATH = 'doc.watch';

/** What the document panel shows of its grant, as one immutable snapshot. */
export interface DocGrantView {
  /** When the newest grant token expires (ms since the epoch, as the server issued it), or null before the first. */
  readonly expiresAt: number | null;
  /** The newest token's lifetime (`exp - iat`), for the countdown bar. */
  readonly lifetimeMs: number | null;
  /** A short id of the newest token (its `jti`), to watch grants rotate. */
  readonly tokenId: string | null;
  /** Why the client asked for the newest token: `'subscribe'`, `'resume'` (a new socket) or `'expiring'`. */
  readonly lastReason: GrantRequestReason | null;
}

const NO_GRANT: DocGrantView = { expiresAt: null, lifetimeMs: null, tokenId: null, lastReason: null };

/** A short id and the lifetime of a grant token. Decoding is not verifying: only the server trusts a token. */
function tokenInfoOf(token: string): Pick<DocGrantView, 'tokenId' | 'lifetimeMs'> {
  try {
    const { jti, iat, exp } = decodeJwt(token);
    return {
      tokenId: typeof jti === 'string' ? jti.slice(0, 8) : null,
      lifetimeMs: typeof iat === 'number' && typeof exp === 'number' ? (exp - iat) * 1000 : null,
    };
  } catch {
    return { tokenId: null, lifetimeMs: null };
  }
}

/**
 * The page's grant provider for `wsLink({ client, grant })`, and what it has handed out, per
 * document, for `useSyncExternalStore`. The client calls it when `doc.watch` is first sent
 * (`'subscribe'`), sent again on a new socket (`'resume'`) and when the server asks for a fresh
 * grant before the current one expires (`'expiring'`, in band: the socket stays). Every other
 * subscription needs no grant (`undefined`); a document whose access was withdrawn gets none
 * (`null`: the client gives the subscription up with `grant-withdrawn`).
 */
export class DocGrants {
  private views: Readonly<Record<string, DocGrantView>> = {};
  private readonly listeners = new Set<() => void>();

  /** `fetchGrant(docId)`: a fresh grant from the server, or null when the user may not have one. */
  constructor(private readonly fetchGrant: (docId: string) => Promise<IssuedGrant | null>) {}

  public readonly provide: GrantProvider = async ({ path, input, reason }) => {
    if (path !== DOC_WATCH_PATH) return undefined;
    const docId = (input as { docId?: unknown } | undefined)?.docId;
    if (typeof docId !== 'string') return null;
    const grant = await this.fetchGrant(docId);
    if (grant === null) return null;
    this.set(docId, { expiresAt: grant.expiresAt, ...tokenInfoOf(grant.token), lastReason: reason });
    return grant.token;
  };

  /** The document's current view: the same object until something changes (a `useSyncExternalStore` snapshot). */
  public view(docId: string): DocGrantView {
    return this.views[docId] ?? NO_GRANT;
  }

  public readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  private set(docId: string, view: DocGrantView): void {
    this.views = { ...this.views, [docId]: view };
    for (const listener of [...this.listeners]) listener();
  }
}
