import { EventEmitter, on } from 'node:events';
import { initTRPC, tracked, TRPCError } from '@trpc/server';

/** What the server's `authenticate` makes of a client's `connectionParams`. */
export interface ExampleSession {
  readonly name: string;
  /** Milliseconds since the epoch; the server asks for fresh credentials before then. */
  readonly expiresAt: number;
}

/** The example's context: the connection's session (the handler's session type comes from here). */
export interface ExampleContext {
  session: ExampleSession | null;
}

export interface ChatMessage {
  readonly id: number;
  readonly author: string;
  readonly text: string;
  readonly at: number;
}

const t = initTRPC.context<ExampleContext>().create();
const events = new EventEmitter();
events.setMaxListeners(0);
const messages: ChatMessage[] = [];
const historyLimit = 500;

const signedIn = t.procedure.use(({ ctx, next }) => {
  if (!ctx.session) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'no session' });
  return next({ ctx: { name: ctx.session.name } });
});

/** A chat room: a query, a mutation and a tracked subscription that resumes without gaps. */
export const exampleRouter = t.router({
  whoami: signedIn.query(({ ctx }) => ctx.name),
  recent: t.procedure.query(() => messages.slice(-20)),
  post: signedIn.input((raw: unknown) => {
    const text = typeof raw === 'object' && raw !== null ? (raw as { text?: unknown }).text : undefined;
    if (typeof text !== 'string' || text.length === 0 || text.length > 500) {
      throw new TRPCError({ code: 'BAD_REQUEST', message: 'text must be 1–500 characters' });
    }
    return { text };
  }).mutation(({ ctx, input }) => {
    const message: ChatMessage = Object.freeze({ id: (messages.at(-1)?.id ?? 0) + 1, author: ctx.name, text: input.text, at: Date.now() });
    messages.push(message);
    if (messages.length > historyLimit) messages.shift();
    events.emit('message', message);
    return message;
  }),
  onMessage: t.procedure
    .input((raw: unknown) => (raw ?? {}) as { lastEventId?: string | null })
    .subscription(async function* ({ input, signal }) {
      const since = Number(input.lastEventId ?? 0);
      const live = on(events, 'message', { signal }) as AsyncIterableIterator<[ChatMessage]>;
      for (const message of messages) if (message.id > since) yield tracked(String(message.id), message);
      for await (const [message] of live) if (message.id > since) yield tracked(String(message.id), message);
    }),
});

export type ExampleRouter = typeof exampleRouter;
