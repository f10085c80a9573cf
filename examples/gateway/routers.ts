import { initTRPC, TRPCError } from '@trpc/server';
import type { Broker } from 'trpc-lanyard/broker';
import { signToken } from './tokens.js';

/** Who is calling, from a verified access token; null when anonymous. */
export interface GatewayContext {
  user: { name: string } | null;
}

export interface RoomMessage {
  readonly author: string;
  readonly text: string;
}

/** How long an access token lives; the gateway asks for a fresh one 10 s before the end. */
export const tokenLifetimeMs = Number(process.env['TOKEN_MS'] ?? 60_000);

const t = initTRPC.context<GatewayContext>().create();

const signedIn = t.procedure.use(({ ctx, next }) => {
  if (!ctx.user) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'sign in first' });
  return next({ ctx: { user: ctx.user } });
});

function roomInput(raw: unknown): { room: string } {
  const room = (raw as { room?: unknown } | null)?.room;
  if (typeof room !== 'string' || !/^[a-z0-9-]{1,32}$/.test(room)) throw new TRPCError({ code: 'BAD_REQUEST', message: 'room: 1–32 of a-z, 0-9, -' });
  return { room };
}

/** The API process: sign-in and posting over HTTP. Posting publishes to the broker (Redis). */
export function createApiRouter(broker: Broker) {
  return t.router({
    signIn: t.procedure
      .input((raw: unknown) => {
        const name = (raw as { name?: unknown } | null)?.name;
        if (typeof name !== 'string' || !/^[\p{L}\p{N} _-]{1,32}$/u.test(name)) throw new TRPCError({ code: 'BAD_REQUEST', message: 'name: 1–32 letters, digits, spaces' });
        return { name };
      })
      // An example: anyone may be anyone. A real API checks a password or an identity provider here.
      .mutation(({ input }) => {
        const expiresAt = Date.now() + tokenLifetimeMs;
        return { token: signToken({ name: input.name, expiresAt }), expiresAt };
      }),
    post: signedIn
      .input((raw: unknown) => {
        const text = (raw as { text?: unknown } | null)?.text;
        if (typeof text !== 'string' || text.length === 0 || text.length > 500) throw new TRPCError({ code: 'BAD_REQUEST', message: 'text: 1–500 characters' });
        return { ...roomInput(raw), text };
      })
      .mutation(async ({ ctx, input }) => {
        const message: RoomMessage = { author: ctx.user.name, text: input.text };
        return { id: await broker.publish(`room:${input.room}`, message) };
      }),
  });
}

/** The gateway process: only the subscriptions, streamed from the broker (Redis) with exact resume. */
export function createGatewayRouter(broker: Broker) {
  return t.router({
    room: signedIn
      .input((raw: unknown) => {
        const lastEventId = (raw as { lastEventId?: unknown } | null)?.lastEventId;
        return { ...roomInput(raw), lastEventId: typeof lastEventId === 'string' ? lastEventId : null };
      })
      .subscription(async function* ({ input, signal }) {
        yield* broker.stream<RoomMessage>(`room:${input.room}`, { lastEventId: input.lastEventId, signal });
      }),
  });
}

export type GatewayRouter = ReturnType<typeof createGatewayRouter>;

/** Both processes' procedures as one router. No process serves it: clients take their `AppRouter` type from it. */
export function createAppRouter(broker: Broker) {
  return t.mergeRouters(createApiRouter(broker), createGatewayRouter(broker));
}

/** What a client sees: both processes' procedures, one type (each process serves its part). */
export type AppRouter = ReturnType<typeof createAppRouter>;
