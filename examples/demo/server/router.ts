import { initTRPC, TRPCError } from '@trpc/server';
import type { SessionBase, WSHandlerControls } from 'trpc-lanyard/server';
import { requireGrant } from 'trpc-lanyard/server';
import type { DocGrant } from './docGrant.js';
import { docGrantVerifier, withdrawnReason } from './docGrant.js';
import type { Documents } from './documents.js';
import type { Feed } from './feed.js';
import type { GrantIssuer } from './grantTokens.js';
import type { Role, Users } from './users.js';
import { parseDocId, parseDocInput, parsePost, parseRole, parseRoomInput } from './validate.js';

/** What `authenticate` makes of an access token: who, with which role, until when. */
export interface DemoSession extends SessionBase {
  readonly userId: string;
  readonly name: string;
  readonly role: Role;
  readonly expiresAt: number;
}

export interface DemoContext {
  session: DemoSession | null;
  /** The caller's socket: "drop connection" cuts it as a network failure would. */
  socket: { terminate(): void };
}

/** What the procedures need from the rest of the server. */
export interface DemoServices {
  readonly feed: Feed;
  readonly documents: Documents;
  readonly users: Users;
  /** Verifies the document grants `POST /api/doc-grant` issues. */
  readonly grants: GrantIssuer;
  /** How `doc.watch`'s grants are timed: how long before expiry a fresh one is asked for, and how long after it one may still land. */
  readonly grantTiming: { readonly refreshAheadMs: number; readonly graceMs: number };
  /** The WebSocket handler's controls (revoke, requestReauthentication); it is created after the router. */
  readonly controls: () => WSHandlerControls<DemoSession>;
  /** This cluster node's name and how to kill it; null for `npm start`. */
  readonly node: { readonly name: string; kill(): void } | null;
}

/** The close reason "revoke me" ends the session with; the client shows it. */
export const REVOKE_REASON = 'revoked from the demo';

/** Lets the answer to the call reach the client before its socket goes. */
const AFTER_ANSWER_MS = 50;

/** The session key of a user: what `revoke` and `requestReauthentication` address on every node. */
export const userKey = (userId: string): string => `user:${userId}`;

/** The path of the document subscription: what `doc.withdraw` ends. */
export const DOC_WATCH_PATH = 'doc.watch';

export function createDemoRouter({ feed, documents, users, grants, grantTiming, controls, node }: DemoServices) {
  const t = initTRPC.context<DemoContext>().create();

  const signedIn = t.procedure.use(({ ctx, next }) => {
    if (!ctx.session) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'sign in first' });
    return next({ ctx: { session: ctx.session } });
  });
  // Runs again for a live subscription whenever the session's role changes (a re-authorisation).
  const adminOnly = signedIn.use(({ ctx, next }) => {
    if (ctx.session.role !== 'admin') {
      throw new TRPCError({ code: 'FORBIDDEN', message: `the private room is for admins; your role is now ${ctx.session.role}` });
    }
    return next();
  });

  return t.router({
    /** Who the caller is, and which cluster node serves their socket (null for `npm start`). */
    me: signedIn.query(({ ctx }) => ({ name: ctx.session.name, role: ctx.session.role, expiresAt: ctx.session.expiresAt, node: node?.name ?? null })),

    post: signedIn.input(parsePost).mutation(async ({ ctx, input }) => {
      if (input.room === 'private' && ctx.session.role !== 'admin') {
        throw new TRPCError({ code: 'FORBIDDEN', message: 'only admins may post to the private room' });
      }
      return { id: await feed.publish(input.room, ctx.session.name, input.text) };
    }),

    publicRoom: signedIn.input(parseRoomInput).subscription(async function* ({ input, signal }) {
      yield* feed.stream('public', input.lastEventId, signal);
    }),

    privateRoom: adminOnly.input(parseRoomInput).subscription(async function* ({ input, signal }) {
      yield* feed.stream('private', input.lastEventId, signal);
    }),

    doc: t.router({
      /**
       * A document's edits, as tracked events, under a grant of its own: a short-lived token for
       * this document (from `POST /api/doc-grant`), separate from the socket's session. Before it
       * expires the server asks the client for a fresh one in band; a refused or missing one ends
       * only this subscription.
       */
      watch: signedIn
        .use(requireGrant<{ session: DemoSession }, DocGrant>({ verify: docGrantVerifier(grants, users), ...grantTiming }))
        .input(parseDocInput)
        .subscription(async function* ({ input, signal }) {
          yield* documents.stream(input.docId, input.lastEventId, signal);
        }),

      /**
       * "Withdraw my access to this document": the store refuses the caller's grants for it from
       * now on, and the server ends the caller's subscriptions to it at once (by session key, on
       * every node), with FORBIDDEN and a reason. The socket and every other subscription go on.
       */
      withdraw: signedIn.input(parseDocId).mutation(async ({ ctx, input: { docId } }) => {
        const { userId } = ctx.session;
        await users.withdrawDoc(userId, docId);
        const ended = await controls().endSubscriptions({ key: userKey(userId), path: DOC_WATCH_PATH, input: { docId } }, { code: 'FORBIDDEN', reason: withdrawnReason(docId) });
        return { docId, subscriptionsEnded: ended.affected };
      }),

      /** Gives the caller's access back: `POST /api/doc-grant` issues again, under the new generation. */
      restore: signedIn.input(parseDocId).mutation(async ({ ctx, input: { docId } }) => {
        await users.restoreDoc(ctx.session.userId, docId);
        return { docId };
      }),
    }),

    /** Changes the caller's role in the store, then asks their sockets for a fresh token carrying it. */
    changeRole: signedIn.input(parseRole).mutation(async ({ ctx, input }) => {
      const { userId } = ctx.session;
      await users.setRole(userId, input.role);
      // By session key: the user's sockets on every node of the cluster (on one node, its own).
      const asked = await controls().requestReauthentication({ key: userKey(userId) });
      return { role: input.role, socketsAsked: asked.affected };
    }),

    /** Revokes the caller: no more tokens, and every socket of theirs closes with 4410. */
    revokeMe: signedIn.mutation(async ({ ctx }) => {
      const { userId } = ctx.session;
      await users.revoke(userId);
      // By session key: every node closes the user's sockets, and refuses them until the record expires.
      setTimeout(() => {
        controls()
          .revoke({ key: userKey(userId) }, { reason: REVOKE_REASON })
          .catch((error: unknown) => console.error('[demo] revoke did not reach every node:', error));
      }, AFTER_ANSWER_MS);
      return { revoked: true };
    }),

    /**
     * Cuts the caller's socket without a close frame, as a network failure would, then posts to
     * both rooms while the caller is away: the client reconnects and its tracked subscriptions
     * resume from their last event id, so these messages arrive too.
     */
    dropConnection: signedIn.mutation(({ ctx }) => {
      const { name } = ctx.session;
      setTimeout(() => {
        ctx.socket.terminate();
        void feed
          .publish('public', 'server', `posted while ${name} was disconnected`, 'system')
          .then(() => feed.publish('private', 'server', `also posted while ${name} was disconnected`, 'system'))
          .catch((error: unknown) => console.error(`[demo] dropConnection: ${String(error)}`));
      }, AFTER_ANSWER_MS);
      return { dropping: true };
    }),

    /**
     * Cluster only: this node exits at once, with no clean close of anything (as a crash or
     * SIGKILL would). The client reconnects to the other node and its rooms resume there.
     */
    killNode: signedIn.mutation(() => {
      if (node === null) throw new TRPCError({ code: 'PRECONDITION_FAILED', message: 'only the cluster demo (npm run start:cluster) has nodes to kill' });
      setTimeout(() => node.kill(), AFTER_ANSWER_MS);
      return { killed: node.name };
    }),
  });
}

export type DemoRouter = ReturnType<typeof createDemoRouter>;
