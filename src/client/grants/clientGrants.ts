/**
 * The client's side of per-subscription grants (PROTOCOL.md § 5.2): asks the application's
 * provider for tokens before a grant subscription is sent (`'subscribe'`, `'resume'`), answers
 * `lanyard.grant.refresh` in band (`'expiring'`), and routes the answers to `lanyard.grant`.
 * Subscriptions without a grant never reach it.
 */
import type { ErrorMessage } from '../../protocol/index.js';
import { grantErrorReason, GrantReason } from '../../protocol/grants.js';
import type { Call, ResponseMessage } from '../calls/call.js';
import type { Connection } from '../socket/connection.js';
import { Negotiation } from '../socket/negotiation.js';
import type { RequestManager } from '../calls/requestManager.js';
import { grantProviderError, grantWithdrawnError } from './grantErrors.js';
import { grantMessage, isFinalGrantError, readGrantRefresh } from './grantFrames.js';
import type { GrantRefreshState, SubscriptionGrant } from './subscriptionGrant.js';
import type { GrantRequestReason } from './types.js';

/** How many times the provider is asked for a token before a subscription is sent (or sent again) before it fails. */
const MAX_SEND_ATTEMPTS = 3;

/** A call that has a grant. */
type GrantCall = Call & { readonly grant: SubscriptionGrant };

/** What the grants need from the client. */
export interface ClientGrantsHost {
  readonly requests: RequestManager;
  /** The client's backoff: milliseconds to wait before attempt `attemptIndex` (1 for the first retry). */
  retryDelayMs(attemptIndex: number): number;
  /** `call` has its token: sends it if the socket in use is ready (else it goes when one is). */
  send(call: Call): void;
}

interface PendingAnswer {
  readonly connection: Connection;
  /** `null`: the socket went away before answering. */
  readonly settle: (answer: ResponseMessage | null) => void;
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

export class ClientGrants {
  /** In-band grant refreshes the server accepted. */
  public accepted = 0;
  /** Our `lanyard.grant` frames waiting for their answer, by wire id. */
  private readonly pending = new Map<number, PendingAnswer>();

  constructor(private readonly host: ClientGrantsHost) {}

  /**
   * `call` (queued) is about to be sent, for the first time (`'subscribe'`) or again after its
   * socket was lost (`'resume'`): it waits for a token from the provider, then the host sends it.
   * `null` fails it (`grant-withdrawn`); a provider that keeps throwing fails it with its error.
   */
  public prepare(call: Call, reason: GrantRequestReason): void {
    if (call.grant === null) return;
    call.grant.awaitingToken = true;
    void this.fetchForSend(call as GrantCall, reason);
  }

  /**
   * Whether `call`, just ended by its server with `message`, is sent again with a fresh token
   * rather than failed: a stock server (which cannot ask in band) ends a grant subscription with
   * `grant-expired` before its grant expires; a fresh token and the last tracked event id make
   * the renewal invisible (PROTOCOL.md § 5.2). A provider that gives the same token again would
   * only be ended again: the error is then the subscriber's.
   */
  public renews(call: Call, message: ErrorMessage): boolean {
    const { grant, primary } = call;
    if (grant === null || grant.token === undefined || primary?.connection.negotiation !== Negotiation.Stock) return false;
    if (grant.renewedFrom !== null && grant.renewedFrom === grant.token) return false;
    let shape: unknown;
    try {
      shape = grant.transformer.output.deserialize(message.error);
    } catch {
      return false;
    }
    if (grantErrorReason(shape) !== GrantReason.Expired) return false;
    grant.renewedFrom = grant.token;
    return true;
  }

  private async fetchForSend(call: GrantCall, reason: GrantRequestReason): Promise<void> {
    const { grant } = call;
    for (let attempt = 1; ; attempt++) {
      let token: string | null | undefined;
      try {
        token = await this.ask(call, reason);
      } catch (cause) {
        if (call.ended || !grant.awaitingToken) return;
        if (attempt >= MAX_SEND_ATTEMPTS) {
          this.host.requests.fail(call, grantProviderError(cause));
          return;
        }
        await delay(this.host.retryDelayMs(attempt));
        if (call.ended || !grant.awaitingToken) return;
        continue;
      }
      if (call.ended || !grant.awaitingToken) return;
      if (token === null) {
        this.host.requests.fail(call, grantWithdrawnError(call.path));
        return;
      }
      grant.token = token;
      grant.awaitingToken = false;
      this.host.send(call);
      return;
    }
  }

  /** The provider's answer for `call`: the call in flight if there is one (single flight), else a new one. */
  private ask(call: GrantCall, reason: GrantRequestReason): Promise<string | null | undefined> {
    const { grant } = call;
    if (grant.flight !== null) return grant.flight;
    // Asked on a fresh microtask: a socket closed for good ('stop') fails its calls right after
    // queuing them again, and a call that ended meanwhile must not ask the app for a token.
    const flight = Promise.resolve().then(() => {
      if (call.ended) throw new Error('the subscription ended before its grant was asked for');
      return grant.provider({ path: call.path, input: grant.rawInput, reason });
    });
    grant.flight = flight;
    const land = () => {
      if (grant.flight === flight) grant.flight = null;
    };
    flight.then(land, land);
    return flight;
  }

  /** `lanyard.grant.refresh` from `connection` (a server that said hello): answer it. Malformed or unknown ones are ignored. */
  public onRefreshRequest(connection: Connection, message: object): void {
    if (connection.negotiation !== Negotiation.Lanyard) return;
    const ask = readGrantRefresh(message);
    if (ask === null || typeof ask.subscription !== 'number') return;
    const call = this.host.requests.subscriptionOn(connection, ask.subscription);
    if (call?.grant === null || call === undefined) return;
    const { grant } = call;
    if (grant.token === undefined) return; // it was sent without a grant: nothing to refresh
    const deadlineAt = Date.now() + ask.deadlineMs;
    const current = grant.refresh;
    if (current !== null && current.connection === connection && current.wireId === ask.subscription) {
      // One answer under way: it echoes the newest `seq`.
      if (ask.seq > current.seq) current.seq = ask.seq;
      current.deadlineAt = deadlineAt;
      return;
    }
    const state: GrantRefreshState = { connection, wireId: ask.subscription, seq: ask.seq, deadlineAt };
    grant.refresh = state;
    void this.answerRefresh(call as GrantCall, state);
  }

  /** Takes the answer to one of our `lanyard.grant` frames; `false` for any other message. */
  public handleAnswer(connection: Connection, message: ResponseMessage): boolean {
    const id = message.id as number;
    const pending = this.pending.get(id);
    if (pending?.connection !== connection) return false;
    this.pending.delete(id);
    pending.settle(message);
    return true;
  }

  /** `connection` closed: the answers it owed will not come. */
  public connectionClosed(connection: Connection): void {
    if (this.pending.size === 0) return;
    for (const [id, pending] of this.pending) {
      if (pending.connection !== connection) continue;
      this.pending.delete(id);
      pending.settle(null);
    }
  }

  /**
   * Fetches a token (`'expiring'`, retried with backoff while the server still waits) and presents
   * it; again when the server asked anew meanwhile. `null` stops the subscription (`grant-withdrawn`);
   * `undefined` leaves the request unanswered (the server ends the subscription at its deadline).
   */
  private async answerRefresh(call: GrantCall, state: GrantRefreshState): Promise<void> {
    const { grant } = call;
    try {
      for (let attempt = 1; ; ) {
        if (!this.stillAsked(call, state)) return;
        let token: string | null | undefined;
        try {
          token = await this.ask(call, 'expiring');
        } catch {
          await delay(this.host.retryDelayMs(attempt++));
          continue;
        }
        if (!this.stillAsked(call, state)) return;
        if (token === null) {
          this.host.requests.fail(call, grantWithdrawnError(call.path));
          return;
        }
        if (token === undefined) return;
        grant.token = token;
        if (!(await this.present(call, state, token))) return;
        attempt = 1; // asked again after this token was fetched: fetch a fresher one
      }
    } finally {
      if (grant.refresh === state) grant.refresh = null;
    }
  }

  /**
   * Presents `token` for `state`'s subscription, again after a backoff on an error that is not
   * final, until the deadline. `true` when the server asked anew meanwhile (answer that too).
   */
  private async present(call: GrantCall, state: GrantRefreshState, token: string): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      if (!this.stillAsked(call, state)) return false;
      const { seq } = state;
      const answer = await this.send(state, token, seq);
      if (answer === null) return false;
      if (!('error' in answer)) {
        this.accepted++;
        return state.seq > seq;
      }
      if (state.seq > seq) return true;
      const leftMs = state.deadlineAt - Date.now();
      if (isFinalGrantError(answer) || leftMs <= 0) return false;
      await delay(Math.min(this.host.retryDelayMs(attempt), leftMs));
    }
  }

  /** Sends `lanyard.grant` on `state`'s socket; the answer, or `null` when the socket went away first. */
  private send(state: GrantRefreshState, token: string, answers: number): Promise<ResponseMessage | null> {
    return new Promise((settle) => {
      const id = this.host.requests.nextWireId();
      this.pending.set(id, { connection: state.connection, settle });
      state.connection.sendFrame(grantMessage(id, state.wireId, token, answers));
    });
  }

  /** Whether `state` is still the request to answer: the subscription is alive on that socket, under that wire id. */
  private stillAsked(call: GrantCall, state: GrantRefreshState): boolean {
    const { connection } = state;
    return (
      !call.ended &&
      call.grant.refresh === state &&
      connection.isReady &&
      this.host.requests.subscriptionOn(connection, state.wireId) === call
    );
  }
}
