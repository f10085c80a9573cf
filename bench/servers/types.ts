/**
 * What the server process (`bench/server.ts`) needs from each kind of server: where it listens,
 * how to publish one fan-out event to every subscriber, and how many sockets it holds.
 */
import type { SourceKind } from '../lib/plan.js';
import type { BenchEvent, CallCounter } from '../lib/router.js';

export interface BenchServer {
  /** The port it listens on, on 127.0.0.1. */
  readonly port: number;
  /** Sends one event to every subscriber. */
  publish(event: BenchEvent): void;
  /** Sockets the server holds right now (open, not yet closed). */
  clients(): number;
}

export interface BenchServerOptions {
  /** What the tRPC subscription reads (ignored by the raw broadcasters). */
  source: SourceKind;
  /** Check a `connectionParams` token (the connect scenario); tRPC servers only. */
  auth: boolean;
  /** Counts the `echo` calls the router runs. */
  counter: CallCounter;
  /** Reports a failure that happens later (a broker publish that rejects): the run fails. */
  fail: (error: unknown) => void;
}
