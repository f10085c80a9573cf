/**
 * Re-authentication: fresh credentials for the connection, on the application's request
 * (`reauthenticate()`) or the server's (`lanyard.refresh`). One flight at a time; everyone who
 * asks meanwhile shares it.
 *
 * How, decided again after every event until it succeeds or fails:
 * - the socket in use speaks our extensions and its session is confirmed: fresh credentials
 *   in-band (`lanyard.authenticate`), answered on its id;
 * - it is a stock server: a make-before-break reconnect (as after tRPC's `reconnect`
 *   notification); the new socket evaluates `connectionParams` afresh;
 * - no socket is ready: the next one carries fresh credentials; done when it is confirmed.
 * A socket whose credentials went out before the flight began is "stale": it never completes it.
 */
import { TRPCClientError } from '@trpc/client';
import type { AnyTRPCRouter } from '@trpc/server';
import type { AuthenticatedResult } from '../../protocol/index.js';
import { AuthRefusalReason } from '../../protocol/index.js';
import { authenticateMessage, readAuthenticated, refusalReasonOf } from './authFrames.js';
import type { ResponseMessage } from '../calls/call.js';
import type { Connection } from '../socket/connection.js';
import { CredentialsReason } from './credentials.js';
import { Negotiation } from '../socket/negotiation.js';
import type { ConnectionParams } from '../options.js';

type ClientError = TRPCClientError<AnyTRPCRouter>;

/** How many times one re-authentication presents credentials on a socket before it gives up. */
const MAX_PRESENTATIONS = 3;
/** Milliseconds to wait before presenting again after a `rate-limited` refusal. */
const RATE_LIMITED_RETRY_MS = 1_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** What the re-authentication needs from the client. */
export interface ReauthenticationHost {
  /** The socket new calls go to, or `null`. */
  active(): Connection | null;
  /** Makes sure a socket is wanted and on its way, as a request would. */
  wantSocket(): void;
  /** Opens a replacement for the ready socket in use, make-before-break (no-op if one is on its way). */
  replaceActive(): void;
  /** A wire id from the client's request-id counter. */
  nextWireId(): number;
  /** Evaluates `connectionParams` (single-flight). */
  credentials(reason: CredentialsReason): ConnectionParams | Promise<ConnectionParams>;
  /** An in-band refresh started (`true`) or ended on the socket in use. */
  onRefreshingChanged(started: boolean): void;
  /** The flight failed; `error` is what its callers see. */
  onFailed(error: ClientError): void;
  /** The flight ended, either way. */
  onLanded(): void;
}

interface Flight {
  readonly reason: CredentialsReason;
  /** Sockets whose credentials went out before this flight began. */
  readonly stale: ReadonlySet<Connection>;
  failure: Error | null;
  /** What every caller of this flight gets. */
  promise: Promise<AuthenticatedResult>;
}

interface PendingAnswer {
  readonly wireId: number;
  readonly connection: Connection;
  /** `null`: the socket went away before answering. */
  readonly settle: (answer: ResponseMessage | null) => void;
}

export class Reauthentication {
  /** How many in-band re-authentications the server accepted. */
  public accepted = 0;
  /** The socket an in-band refresh runs on, or `null`. */
  public refreshingOn: Connection | null = null;
  private flight: Flight | null = null;
  private pending: PendingAnswer | null = null;
  private wake: (() => void) | null = null;
  /** Something changed since the flight last looked. */
  private changed = false;
  /** The `seq` of the newest `lanyard.refresh` each socket received. */
  private readonly refreshSeqs = new WeakMap<Connection, number>();

  constructor(private readonly host: ReauthenticationHost) {}

  /** Why the flight under way asked for credentials (a socket opened meanwhile asks the same), or `null`. */
  public get reason(): CredentialsReason | null {
    return this.flight?.reason ?? null;
  }

  /** Whether a flight is under way (the client must keep wanting a socket meanwhile). */
  public get inFlight(): boolean {
    return this.flight !== null;
  }

  /** Starts a flight, or joins the one under way. `reason` is handed to `connectionParams`. */
  public run(reason: CredentialsReason): Promise<AuthenticatedResult> {
    if (this.flight !== null) return this.flight.promise;
    const active = this.host.active();
    const stale = new Set<Connection>(active?.isReady ? [active] : []);
    const flight: Flight = { reason, stale, failure: null, promise: Promise.resolve({ expiresAt: null }) };
    const land = () => {
      if (this.flight === flight) this.flight = null;
      this.host.onLanded();
    };
    flight.promise = Promise.resolve()
      .then(() => this.fly(flight))
      .then(
        (result) => {
          land();
          return result;
        },
        (cause: unknown) => {
          const error: ClientError = TRPCClientError.from(cause as Error);
          land();
          this.host.onFailed(error);
          throw error;
        },
      );
    this.flight = flight;
    return flight.promise;
  }

  /** Something changed (a socket opened, became ready, negotiated, was confirmed, closed): look again. */
  public notify(): void {
    this.changed = true;
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  /** The client gave up its sockets (`close()`, or a close that stops it): the flight fails with `error`. */
  public fail(error: Error): void {
    if (this.flight === null) return;
    this.flight.failure = error;
    this.pending?.settle(null);
    this.notify();
  }

  /** `connection` closed: an answer it owed will not come. */
  public connectionClosed(connection: Connection): void {
    if (this.pending?.connection === connection) this.pending.settle(null);
    this.notify();
  }

  /** `connection` received `lanyard.refresh` number `seq`: credentials fetched before this do not answer it. */
  public refreshRequested(connection: Connection, seq: number | undefined): void {
    if (seq !== undefined && seq > (this.refreshSeqs.get(connection) ?? -1)) this.refreshSeqs.set(connection, seq);
  }

  /** Takes the answer to our `lanyard.authenticate`; `false` for any other message. */
  public handleAnswer(connection: Connection, message: ResponseMessage): boolean {
    const pending = this.pending;
    if (pending === null || pending.wireId !== message.id || pending.connection !== connection) return false;
    pending.settle(message);
    return true;
  }

  private async fly(flight: Flight): Promise<AuthenticatedResult> {
    for (;;) {
      this.changed = false;
      if (flight.failure !== null) throw flight.failure;
      const active = this.host.active();
      if (active === null || !active.isReady) {
        this.host.wantSocket();
        await this.nextEvent();
        continue;
      }
      const stale = flight.stale.has(active);
      if (active.negotiation === Negotiation.Pending) {
        active.probe();
      } else if (active.negotiation === Negotiation.Stock) {
        if (!stale) return { expiresAt: null };
        this.host.replaceActive();
      } else if (active.session !== null) {
        if (!stale) return active.session;
        const result = await this.inBand(flight, active);
        if (result !== null) return result;
        continue; // the socket went away first: look again
      }
      await this.nextEvent();
    }
  }

  /**
   * Fresh credentials on `connection`; `null` when it went away before answering. Presents again
   * (at most {@link MAX_PRESENTATIONS} in all) once after a refusal the server explains — with
   * credentials fetched anew (`reason: 'refused'`) after `not-fresher`, the same ones after
   * `rate-limited` and {@link RATE_LIMITED_RETRY_MS} — and whenever the server asked again
   * (`lanyard.refresh`) after their fetch began: only credentials fetched after a request answer
   * it (PROTOCOL.md § 5.1).
   */
  private async inBand(flight: Flight, connection: Connection): Promise<AuthenticatedResult | null> {
    this.setRefreshingOn(connection);
    try {
      let reason = flight.reason;
      let refetch = true;
      let params: ConnectionParams = null;
      let answers: number | undefined;
      let refusedOnce = false;
      for (let presentation = 1; ; presentation++) {
        if (refetch) {
          answers = this.refreshSeqs.get(connection);
          params = await this.host.credentials(reason);
        }
        if (flight.failure !== null) throw flight.failure;
        if (this.host.active() !== connection || !connection.isReady) return null;
        const answer = await this.present(connection, params, answers);
        if (answer === null) return null;
        const last = presentation >= MAX_PRESENTATIONS;
        if ('error' in answer) {
          const why = refusalReasonOf(answer);
          if (last || why === undefined || refusedOnce) throw TRPCClientError.from(answer);
          refusedOnce = true;
          refetch = why === AuthRefusalReason.NotFresher; // a cached token: fetch a fresh one
          reason = refetch ? CredentialsReason.Refused : reason;
          if (!refetch) await sleep(RATE_LIMITED_RETRY_MS);
          continue;
        }
        const result = readAuthenticated('result' in answer && answer.result.type === 'data' ? answer.result.data : null) ?? {
          expiresAt: null,
        };
        connection.session = result;
        this.accepted++;
        const newest = this.refreshSeqs.get(connection);
        if (last || newest === undefined || (answers !== undefined && answers >= newest)) return result;
        reason = CredentialsReason.Refresh; // asked again after this fetch began: answer with newer ones
        refetch = true;
      }
    } finally {
      this.setRefreshingOn(null);
    }
  }

  /** Sends `lanyard.authenticate` on `connection`; its answer, or `null` when the socket went away first. */
  private async present(connection: Connection, params: ConnectionParams, answers: number | undefined): Promise<ResponseMessage | null> {
    try {
      return await new Promise<ResponseMessage | null>((settle) => {
        const wireId = this.host.nextWireId();
        this.pending = { wireId, connection, settle };
        connection.sendFrame(authenticateMessage(wireId, params, answers));
      });
    } finally {
      this.pending = null;
    }
  }

  private setRefreshingOn(connection: Connection | null): void {
    this.refreshingOn = connection;
    this.host.onRefreshingChanged(connection !== null);
  }

  /** Resolves at the next {@link notify}, or at once if one came since the flight last looked. */
  private nextEvent(): Promise<void> {
    if (this.changed) return Promise.resolve();
    return new Promise((resolve) => (this.wake = resolve));
  }
}
