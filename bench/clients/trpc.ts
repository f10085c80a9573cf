/**
 * The tRPC clients (stock or lanyard): one `createWSClient` + `wsLink` + `createTRPCClient` per
 * connection, with the `ws` WebSocket class (Node 20 has no global one).
 */
import { createTRPCClient } from '@trpc/client';
import type { TRPCClient } from '@trpc/client';
import { WebSocket as WsWebSocket } from 'ws';
import type { ClientImpl } from '../impls/index.js';
import { tokenFor, userFor } from '../lib/router.js';
import type { AppRouter } from '../lib/router.js';
import type { LoadDriver } from './types.js';
import { withTimeout } from './types.js';

const WebSocketClass = WsWebSocket as unknown as typeof globalThis.WebSocket;

/** The seq of a subscription's data: a plain event, or a `tracked()` one (`{ id, data }`). */
function seqOf(data: unknown): number {
  if (typeof data === 'object' && data !== null) {
    const record = data as { seq?: unknown; data?: { seq?: unknown } };
    if (typeof record.seq === 'number') return record.seq;
    if (typeof record.data?.seq === 'number') return record.data.seq;
  }
  throw new Error(`unexpected event ${JSON.stringify(data)}`);
}

export function trpcDriver(impl: ClientImpl): LoadDriver {
  const connect = (url: string, connectionParams?: Record<string, string>) => {
    const wsClient = impl.createWSClient(
      connectionParams === undefined ? { url, WebSocket: WebSocketClass } : { url, WebSocket: WebSocketClass, connectionParams },
    );
    const trpc: TRPCClient<AppRouter> = createTRPCClient<AppRouter>({ links: [impl.wsLink({ client: wsClient })] });
    return { wsClient, trpc };
  };

  return {
    subscribe(url, index, procedure, onSeq, fail) {
      const { trpc } = connect(url);
      return new Promise<void>((resolve, reject) => {
        const handlers = {
          onStarted: () => resolve(),
          onData: (data: unknown) => onSeq(seqOf(data)),
          onError: (error: unknown) => {
            reject(error instanceof Error ? error : new Error(String(error)));
            fail(new Error(`subscriber ${index}: ${String(error)}`));
          },
          onStopped: () => fail(new Error(`subscriber ${index}: subscription stopped`)),
          onComplete: () => fail(new Error(`subscriber ${index}: subscription completed`)),
        };
        if (procedure === 'onEvent') trpc.onEvent.subscribe(undefined, handlers);
        else trpc.onStream.subscribe(undefined, handlers);
      });
    },

    async startCalls(url, inflight, fail) {
      const { wsClient, trpc } = connect(url);
      await trpc.echo.query({ n: -1, text: 'ping' });
      let running = true;
      let nextId = 0;
      let calls = 0;
      const worker = async (): Promise<void> => {
        while (running) {
          const n = nextId++;
          const out = await trpc.echo.query({ n, text: 'ping' });
          if (out.n !== n) fail(new Error(`echo: sent ${n}, got ${out.n}`));
          calls++;
        }
      };
      const workers = Promise.all(Array.from({ length: inflight }, worker));
      workers.catch(fail);
      return {
        async stop(timeoutMs) {
          running = false;
          await withTimeout(workers, timeoutMs, () => 'calls in flight to finish');
          wsClient.close();
          return calls;
        },
      };
    },

    async connectAndCall(url, index) {
      const { trpc } = connect(url, { token: tokenFor(index) });
      const user = await trpc.me.query();
      if (user !== userFor(index)) throw new Error(`client ${index}: me answered ${String(user)}`);
    },
  };
}
