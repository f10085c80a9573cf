/**
 * uWebSockets.js, as the user installed it. The official build comes from GitHub, not the npm
 * registry (`npm install uNetworking/uWebSockets.js#v20.52.0`, see the README); inside this
 * repository the tests use a republished build of v20.30 from the registry instead.
 */
import { createRequire } from 'node:module';
import type { UWSApp } from 'trpc-lanyard/uws';

const require = createRequire(import.meta.url);

/** The part of uWebSockets.js this example uses. */
export interface UWSModule {
  App(): UWSApp & { listen(host: string, port: number, callback: (listenSocket: unknown) => void): unknown };
  us_socket_local_port(listenSocket: unknown): number;
  us_listen_socket_close(listenSocket: unknown): void;
}

export function loadUWS(): UWSModule {
  for (const name of ['uWebSockets.js', '@trufflesuite/uws-js-unofficial']) {
    try {
      return require(name) as UWSModule;
    } catch (error) {
      if ((error as { code?: string }).code !== 'MODULE_NOT_FOUND') throw error;
    }
  }
  throw new Error('uWebSockets.js is not installed: npm install uNetworking/uWebSockets.js#v20.52.0');
}
