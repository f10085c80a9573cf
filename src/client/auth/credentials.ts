/**
 * The client's one credential source: `connectionParams`, evaluated for every new socket and
 * for every in-band re-authentication, single-flight.
 */
import type { ConnectionParams, ConnectionParamsOption } from '../options.js';
import { isPromiseLike } from '../options.js';

/** Why the client asks for credentials; handed to a `connectionParams` function. */
export const CredentialsReason = {
  /** A new socket: the first one, or one after a loss that was not about the credentials. */
  Connect: 'connect',
  /** A new socket after the server refused or expired the last credentials (4401, 4419): they are stale. */
  Refused: 'refused',
  /** The server asked for fresh credentials in-band (`lanyard.refresh`): the current ones expire soon. */
  Refresh: 'refresh',
  /** The application called `reauthenticate()`: it holds new credentials. */
  Reauthenticate: 'reauthenticate',
} as const;
/** One of {@link CredentialsReason}. */
export type CredentialsReason = (typeof CredentialsReason)[keyof typeof CredentialsReason];

/** What a `connectionParams` function receives: why the client needs credentials now. */
export interface CredentialsRequest {
  readonly reason: CredentialsReason;
}

/** Whether `reason` says the credentials the application holds are stale and must be renewed. */
export function needsNewCredentials(reason: CredentialsReason): boolean {
  return reason === CredentialsReason.Refused || reason === CredentialsReason.Refresh;
}

interface Flight {
  readonly promise: Promise<ConnectionParams>;
  /** It was asked for with a reason that demands new credentials. */
  readonly renews: boolean;
}

/**
 * Evaluates `connectionParams` on demand. Concurrent requests share the one call in flight;
 * nothing is kept once it settles, so the next request calls the function again (a refused
 * credential is never reused). A request that demands new credentials
 * ({@link needsNewCredentials}) does not join a call made for another reason: it starts its own.
 */
export class Credentials {
  private flight: Flight | null = null;

  constructor(private readonly source: ConnectionParamsOption | undefined) {}

  /** Whether the client sends credentials at all (the URL then says `connectionParams=1`). */
  public get configured(): boolean {
    return this.source !== undefined;
  }

  /**
   * The credentials for `reason`: synchronously for a value or a synchronous function, else a
   * promise (shared with concurrent requests). `null` when `connectionParams` is not set.
   * Throws, or rejects, when the function does.
   */
  public get(reason: CredentialsReason): ConnectionParams | Promise<ConnectionParams> {
    const { source } = this;
    if (source === undefined) return null;
    if (typeof source !== 'function') return source;
    const renews = needsNewCredentials(reason);
    const current = this.flight;
    if (current !== null && (current.renews || !renews)) return current.promise;
    const request: CredentialsRequest = { reason };
    const value = source(request);
    if (!isPromiseLike(value)) return value;
    const promise = Promise.resolve(value);
    const flight: Flight = { promise, renews };
    this.flight = flight;
    const land = () => {
      if (this.flight === flight) this.flight = null;
    };
    promise.then(land, land);
    return promise;
  }
}
