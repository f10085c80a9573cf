import { initTRPC, TRPCError } from '@trpc/server';
import type { SessionBase, WSHandlerControls } from 'trpc-lanyard/server';
import type { Feed } from './feed.js';
import type { Role, UserStore } from './users.js';
import { parsePost, parseRole, parseRoomInput } from './validate.js';

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
  readonly users: UserStore;
  /** The WebSocket handler's controls (revoke, requestReauthentication); it is created after the router. */
  readonly controls: () => WSHandlerControls<DemoSession>;
}

/** The close reason "revoke me" ends the session with; the client shows it. */
export const REVOKE_REASON = 'revoked from the demo';

/** Lets the answer to the call reach the client before its socket goes. */
const AFTER_ANSWER_MS = 50;

export function createDemoRouter({ feed, users, controls }: DemoServices) {
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
    me: signedIn.query(({ ctx }) => ({ name: ctx.session.name, role: ctx.session.role, expiresAt: ctx.session.expiresAt })),

    post: signedIn.input(parsePost).mutation(({ ctx, input }) => {
      if (input.room === 'private' && ctx.session.role !== 'admin') {
        throw new TRPCError({ code: 'FORBIDDEN', message: 'only admins may post to the private room' });
      }
      return feed.publish(input.room, ctx.session.name, input.text);
    }),

    publicRoom: signedIn.input(parseRoomInput).subscription(({ input, signal }) => feed.stream('public', input.lastEventId, signal)),

    privateRoom: adminOnly.input(parseRoomInput).subscription(({ input, signal }) => feed.stream('private', input.lastEventId, signal)),

    /** Changes the caller's role in the store, then asks their sockets for a fresh token carrying it. */
    changeRole: signedIn.input(parseRole).mutation(({ ctx, input }) => {
      const { userId } = ctx.session;
      users.setRole(userId, input.role);
      const asked = controls().requestReauthentication((session) => session.userId === userId);
      return { role: input.role, socketsAsked: asked };
    }),

    /** Revokes the caller: no more tokens, and every socket of theirs closes with 4410. */
    revokeMe: signedIn.mutation(({ ctx }) => {
      const { userId } = ctx.session;
      users.revoke(userId);
      setTimeout(() => controls().revoke((session) => session.userId === userId, { reason: REVOKE_REASON }), AFTER_ANSWER_MS);
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
        feed.publish('public', 'server', `posted while ${name} was disconnected`, 'system');
        feed.publish('private', 'server', `also posted while ${name} was disconnected`, 'system');
      }, AFTER_ANSWER_MS);
      return { dropping: true };
    }),
  });
}

export type DemoRouter = ReturnType<typeof createDemoRouter>;
