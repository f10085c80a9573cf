/**
 * What the bench needs from a tRPC implementation: a server wired to the bench router (with or
 * without token auth; on `ws`, or on uWebSockets.js for our uWS adapter), and the two client
 * entry points, used with the same options as stock.
 * Methods (not function properties) so that each implementation's own client type fits.
 */
import type { TRPCLink } from '@trpc/client';
import type { UWSApp } from 'trpc-lanyard/uws';
import type { WebSocketServer } from 'ws';
import type { AppRouter } from '../lib/router.js';

export interface BenchWSClient {
  close(): unknown;
}

export interface ServeOptions {
  wss: WebSocketServer;
  router: AppRouter;
  /**
   * Check a `connectionParams` token (`userForToken`) and put its user in the context: in
   * stock's `createContext`, in lanyard's `authenticate`. Without it the context's user is null.
   */
  auth: boolean;
}

export interface ServerImpl {
  serve(opts: ServeOptions): void;
}

/** {@link ServeOptions} on a uWebSockets.js app instead of a `WebSocketServer`. */
export interface UWSServeOptions extends Omit<ServeOptions, 'wss'> {
  app: UWSApp;
}

/** A tRPC server on uWebSockets.js: adds its route to `app` (which the caller listens with). */
export interface UWSServerImpl {
  serve(opts: UWSServeOptions): void;
}

export interface ClientImpl<TClient extends BenchWSClient = BenchWSClient> {
  createWSClient(opts: {
    url: string;
    WebSocket: typeof globalThis.WebSocket;
    connectionParams?: Record<string, string>;
  }): TClient;
  wsLink(opts: { client: TClient }): TRPCLink<AppRouter>;
}
