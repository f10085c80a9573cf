/**
 * What the README's examples take as given (the app's router, its JWT check, its user store),
 * declared so that the examples in this folder compile exactly as the README prints them.
 * Nothing here runs: these files are checked by `npm run typecheck` only.
 */
import { initTRPC } from '@trpc/server';

/** The session the README's `authenticate` returns. */
export interface Session {
  readonly userId: string;
  readonly roles: readonly string[];
  readonly expiresAt: number;
  /** When the token was issued (ms): a revocation by key spares sessions issued after it. */
  readonly issuedAt?: number;
}

/** The README's auth examples: a router whose context carries the session, as most apps do. */
const t = initTRPC.context<{ session: Session | null }>().create();
export const appRouter = t.router({
  me: t.procedure.query(({ ctx }) => ctx.session?.userId ?? null),
});
export type AppRouter = typeof appRouter;

/** The migration example: stock tRPC's habit of reading a token from `connectionParams` in `createContext`. */
const stock = initTRPC.context<{ token: string | null }>().create();
export const stockRouter = stock.router({
  hello: stock.procedure.query(({ ctx }) => (ctx.token ? 'hello, you' : 'hello, stranger')),
});

export declare function verifyJwt(token: string): Promise<{ sub: string; iat: number; exp: number }>;
export declare function sameRoles(a: readonly string[], b: readonly string[]): boolean;
export declare function getToken(): Promise<string>;
export declare function refreshAccessToken(): Promise<string>;
export declare const auth: { getToken(): Promise<string> };
export declare const url: string;
export declare const httpUrl: string;
export declare const db: {
  /** The user as the app's own store has it now: roles, and since when earlier tokens no longer count (seconds). */
  user(userId: string): Promise<{ id: string; roles: string[]; tokensValidAfter: number } | null>;
  isRevoked(session: Session): Promise<boolean>;
};

/** The README's grant example: a document service that signs short-lived tokens for one document. */
export declare function verifyDocToken(token: string): Promise<{ sub: string; docId: string; canEdit: boolean; exp: number }>;
export declare function fetchDocToken(docId: string): Promise<string | null>;
export declare function docEvents(docId: string, signal: AbortSignal | undefined): AsyncIterable<{ text: string }>;
export declare function showNoAccess(docId: string): void;
