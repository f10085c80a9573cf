/**
 * What the bench needs from an implementation: the three drop-in entry points,
 * used with the same options as stock. Methods (not function properties) so
 * that each implementation's own client type fits.
 */
import type { TRPCLink } from '@trpc/client';
import type { WebSocketServer } from 'ws';
import type { AppRouter } from '../lib/router.js';

export interface BenchWSClient {
  close(): unknown;
}

export interface BenchImpl<TClient extends BenchWSClient = BenchWSClient> {
  applyWSSHandler(opts: {
    wss: WebSocketServer;
    router: AppRouter;
    createContext: () => Record<string, never>;
  }): unknown;
  createWSClient(opts: { url: string; WebSocket: typeof globalThis.WebSocket }): TClient;
  wsLink(opts: { client: TClient }): TRPCLink<AppRouter>;
}
