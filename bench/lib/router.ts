/**
 * The one router both tRPC implementations serve. Nothing in it depends on the transport.
 */
import { EventEmitter, on } from 'node:events';
import { initTRPC, TRPCError } from '@trpc/server';
import type { Broker } from 'trpc-lanyard/broker';

/** What the fan-out subscription yields. One object per broadcast, shared by all subscribers. */
export interface BenchEvent {
  readonly seq: number;
  /** `now()` in the server when it was published. */
  readonly at: number;
  readonly text: string;
}

export interface EchoInput {
  n: number;
  text: string;
}

/** The context: the user a token names (connect scenario), null elsewhere. */
export interface BenchContext {
  user: string | null;
}

export const EVENT_NAME = 'event';
/** The broker channel `onStream` reads. */
export const CHANNEL = 'bench';

/** Counts the `echo` calls a server ran, so that calls/s and CPU per call are measured in one process. */
export interface CallCounter {
  calls: number;
}

function parseEchoInput(value: unknown): EchoInput {
  if (typeof value === 'object' && value !== null) {
    const { n, text } = value as Record<string, unknown>;
    if (typeof n === 'number' && typeof text === 'string') return { n, text };
  }
  throw new Error('echo: expected { n: number, text: string }');
}

/** The token the connect scenario's client `index` presents, and the user it names. */
export function tokenFor(index: number): string {
  return `bench-token-${index}`;
}

export function userFor(index: number): string {
  return `user-${index}`;
}

/** The connect scenario's check of a `connectionParams` token (cheap: the bench measures the transport). */
export function userForToken(token: unknown): string {
  if (typeof token === 'string' && token.startsWith('bench-token-')) return `user-${token.slice('bench-token-'.length)}`;
  throw new TRPCError({ code: 'UNAUTHORIZED', message: 'bad token' });
}

export interface RouterSources {
  events: EventEmitter;
  /** The memory broker, when `onStream` is used; undefined otherwise. */
  broker: Broker | undefined;
  counter: CallCounter;
}

export function createBenchRouter({ events, broker, counter }: RouterSources) {
  const t = initTRPC.context<BenchContext>().create();
  return t.router({
    echo: t.procedure.input(parseEchoInput).query(({ input }) => {
      counter.calls++;
      return input;
    }),
    me: t.procedure.query(({ ctx }) => ctx.user),
    /** The source most apps start with: `events.on()`. */
    onEvent: t.procedure.subscription(async function* ({ signal }) {
      for await (const args of on(events, EVENT_NAME, { signal })) {
        yield (args as [BenchEvent])[0];
      }
    }),
    /** The compact source we recommend: the memory broker's `stream` (tracked events). */
    onStream: t.procedure.subscription(async function* ({ signal }) {
      if (broker === undefined) throw new TRPCError({ code: 'NOT_IMPLEMENTED', message: 'no broker in this server' });
      yield* broker.stream<BenchEvent, never>(CHANNEL, { signal });
    }),
  });
}

export type AppRouter = ReturnType<typeof createBenchRouter>;

export function createEventBus(): EventEmitter {
  const events = new EventEmitter();
  events.setMaxListeners(0);
  return events;
}
