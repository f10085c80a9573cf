/**
 * Negotiation of our extensions, per socket: the client says `lanyard=1` in the URL; a
 * trpc-lanyard server answers with `lanyard.hello` as its first frame. A stock server ignores
 * the flag and never says hello, and the client then sends it nothing but stock frames.
 */
import type { HelloNotification } from '../../protocol/index.js';
import { CONNECTION_PARAMS_FLAG, LANYARD_FLAG } from '../../protocol/index.js';

/** What a trpc-lanyard server says in its `lanyard.hello` frame. */
export type ServerInfo = HelloNotification['params'];

/** Appends `connectionParams=1` (when used) and `lanyard=1` to the URL's query. */
export function withQueryFlags(url: string, hasConnectionParams: boolean): string {
  const query = hasConnectionParams ? `${CONNECTION_PARAMS_FLAG}=1&${LANYARD_FLAG}=1` : `${LANYARD_FLAG}=1`;
  return url + (url.includes('?') ? '&' : '?') + query;
}

/** The params of a `lanyard.hello` message, or `null` when `message` is anything else. */
export function readHello(message: unknown): ServerInfo | null {
  if (!isHello(message)) return null;
  const { version, maxPayloadBytes, maxBatchSize } = message.params;
  // A batch limit the client could not honour (0, a fraction) is ignored, not trusted.
  const usable = typeof maxBatchSize === 'number' && Number.isInteger(maxBatchSize) && maxBatchSize >= 1;
  return usable ? { version, maxPayloadBytes, maxBatchSize } : { version, maxPayloadBytes };
}

function isHello(message: unknown): message is HelloNotification {
  if (typeof message !== 'object' || message === null) return false;
  const { method, params } = message as { method?: unknown; params?: unknown };
  if (method !== 'lanyard.hello' || typeof params !== 'object' || params === null) return false;
  const { version, maxPayloadBytes } = params as { version?: unknown; maxPayloadBytes?: unknown };
  return typeof version === 'number' && typeof maxPayloadBytes === 'number';
}


/**
 * What one socket's server turned out to be. The first frame decides: a trpc-lanyard server
 * sends `lanyard.hello` before anything else, so any other first frame, or a `PONG` before any
 * frame (the server read our `PING`, sent after the socket opened, before saying hello), means
 * a stock server.
 */
export const Negotiation = {
  /** Nothing has arrived yet. */
  Pending: 'pending',
  /** The server said `lanyard.hello`: extension frames may be sent. */
  Lanyard: 'lanyard',
  /** A stock tRPC server: nothing beyond stock frames is ever sent to it. */
  Stock: 'stock',
} as const;
/** One of {@link Negotiation}. */
export type Negotiation = (typeof Negotiation)[keyof typeof Negotiation];
