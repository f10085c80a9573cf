/**
 * The one router both implementations serve. Nothing in it depends on the transport.
 */
import { EventEmitter, on } from 'node:events';
import { initTRPC } from '@trpc/server';

/** What the fan-out subscription yields. Published frozen, one object per broadcast. */
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

export const EVENT_NAME = 'event';

function parseEchoInput(value: unknown): EchoInput {
  if (typeof value === 'object' && value !== null) {
    const { n, text } = value as Record<string, unknown>;
    if (typeof n === 'number' && typeof text === 'string') return { n, text };
  }
  throw new Error('echo: expected { n: number, text: string }');
}

export function createBenchRouter(events: EventEmitter) {
  const t = initTRPC.create();
  return t.router({
    echo: t.procedure.input(parseEchoInput).query(({ input }) => input),
    onEvent: t.procedure.subscription(async function* ({ signal }) {
      for await (const args of on(events, EVENT_NAME, { signal })) {
        yield (args as [BenchEvent])[0];
      }
    }),
  });
}

export type AppRouter = ReturnType<typeof createBenchRouter>;

export function createEventBus(): EventEmitter {
  const events = new EventEmitter();
  events.setMaxListeners(0);
  return events;
}
