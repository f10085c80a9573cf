import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type {} from '@fastify/websocket'; // its types: `request.ws`, `fastify.websocketServer`
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AllowedOrigins } from '../../server/auth/origin.js';
import type { CredentialCarriers } from '../../server/auth/types.js';
import { holdUntilTurnEnds } from '../../server/turnFlush.js';
import { redactUpgradeUrl, upgradeOriginAllowed } from '../ws/upgrade.js';

/** What the gate checks on the upgrades of one WebSocket route. */
export interface UpgradeGateOptions {
  /** The route's path, e.g. `/trpc` (`/` for the root). */
  readonly path: string;
  readonly allowedOrigins: AllowedOrigins<FastifyRequest> | undefined;
  readonly credentials: CredentialCarriers | undefined;
  /** Where a throwing `allowedOrigins` predicate is reported. */
  readonly onPredicateError: (cause: unknown, req: FastifyRequest) => void;
}

/** The path of a request URL (`/trpc` of `/trpc/?a=1`), without trailing slashes. */
function pathOf(url: string): string {
  const end = url.search(/[?#]/);
  return (end < 0 ? url : url.slice(0, end)).replace(/\/+$/, '');
}

/**
 * Everything a WebSocket route does at the upgrade, before the socket opens:
 *
 * - {@link UpgradeGate.redactEarly} cuts the query-parameter token out of the URL on the HTTP
 *   server's `upgrade` event, ahead of `@fastify/websocket`'s listener: before Fastify routes the
 *   request, builds its `FastifyRequest` and logs "incoming request" with its URL, and before any
 *   hook. (Fastify's `rewriteUrl` would come later than this, and is the app's option, not a plugin's.)
 * - {@link UpgradeGate.onRequest}, the route's own `onRequest` hook, redacts again (for upgrades
 *   that came through another server, see `redactEarly`) and refuses a cross-origin upgrade with
 *   HTTP 403; the upgrades it lets through have their 101 response held (see `holdHeaders`).
 * - {@link UpgradeGate.holdHeaders}, on the `ws` server's `headers` event, holds the socket's
 *   writes until the turn ends, so the 101 response and `lanyard.hello` leave in one write.
 */
export class UpgradeGate {
  /** The upgrade requests this route accepted, until `ws` writes their 101 response. */
  private readonly accepted = new WeakSet<IncomingMessage>();
  private readonly path: string;

  constructor(private readonly options: UpgradeGateOptions) {
    this.path = options.path.replace(/\/+$/, '');
  }

  /** On the HTTP server's `upgrade` event, prepended: redacts the token of upgrades to this route's path. */
  readonly redactEarly = (req: IncomingMessage, _socket: Duplex, _head: Buffer): void => {
    if (!this.options.credentials?.queryParam || req.url === undefined) return;
    // Only this route's upgrades: another route may use a query parameter of the same name.
    if (pathOf(req.url) === this.path) redactUpgradeUrl(req, this.options.credentials);
  };

  /** The WebSocket route's `onRequest` hook. */
  readonly onRequest = (request: FastifyRequest, reply: FastifyReply, done: () => void): void => {
    // `@fastify/websocket` marks upgrades; a plain GET on the route gets its 404.
    if (!request.ws) {
      done();
      return;
    }
    redactUpgradeUrl(request.raw, this.options.credentials);
    const refused = (cause: unknown) => this.options.onPredicateError(cause, request);
    if (!upgradeOriginAllowed(this.options.allowedOrigins, request, request.raw, refused)) {
      // Sent on the upgrade socket, which `@fastify/websocket` destroys once the reply is out.
      void reply.code(403).type('text/plain; charset=utf-8').send('Origin not allowed');
      return;
    }
    this.accepted.add(request.raw);
    done();
  };

  /** On the `ws` server's `headers` event (shared by every route): holds this route's accepted upgrades. */
  readonly holdHeaders = (_headers: string[], req: IncomingMessage): void => {
    if (!this.accepted.delete(req)) return;
    holdUntilTurnEnds(req.socket);
  };

  /** Installs the listeners on the HTTP and `ws` servers; returns what removes them. */
  install(fastify: FastifyInstance): () => void {
    fastify.server.prependListener('upgrade', this.redactEarly);
    fastify.websocketServer.on('headers', this.holdHeaders);
    return () => {
      fastify.server.removeListener('upgrade', this.redactEarly);
      fastify.websocketServer.removeListener('headers', this.holdHeaders);
    };
  }
}
