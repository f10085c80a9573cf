/**
 * The bench router with its event source, for every tRPC server kind: `events.on()` on an
 * EventEmitter, or the memory broker's `stream` (`trpc-lanyard/broker`, built `dist/`).
 */
import type { EventEmitter } from 'node:events';
import type { AppRouter, BenchEvent } from '../lib/router.js';
import { CHANNEL, createBenchRouter, createEventBus, EVENT_NAME } from '../lib/router.js';
import type { BenchServerOptions } from './types.js';

export interface RouterWithSource {
  router: AppRouter;
  /** Hands one event to the source every subscription reads. */
  publish(event: BenchEvent): void;
}

export async function routerWithSource({ source, counter, fail }: BenchServerOptions): Promise<RouterWithSource> {
  const events: EventEmitter = createEventBus();
  if (source === 'broker') {
    const { createMemoryBroker } = await import('trpc-lanyard/broker');
    const broker = createMemoryBroker();
    return {
      router: createBenchRouter({ events, broker, counter }),
      publish: (event) => {
        broker.publish(CHANNEL, event).catch(fail);
      },
    };
  }
  return {
    router: createBenchRouter({ events, broker: undefined, counter }),
    publish: (event) => {
      events.emit(EVENT_NAME, event);
    },
  };
}
