import type { ControlBus } from '../../broker/control/types.js';

/** What to do when the revocation records cannot be read (the store is unreachable). */
export type RevocationsUnavailable =
  /** Refuse the session (connect: close 4500, which clients retry with backoff; in band: `SERVICE_UNAVAILABLE`). */
  | 'refuse'
  /** Let it through unchecked, and report the failure to `onError`. */
  | 'admit';

/**
 * Cluster control: with a `broker`, `revoke({ key })`, `requestReauthentication({ key })` and
 * `broadcastReconnectNotification()` act on every node, and revocations by key stick.
 */
export interface ClusterOptions<TSession> {
  /**
   * The broker from `trpc-lanyard/broker` whose control bus the handler joins (the same broker
   * the procedures stream from, or one of its own). Without it, but with `sessionKeys`, the
   * handler keeps its revocation records in memory: sticky revocation on one node.
   * @default none (cluster control off)
   */
  broker?: { readonly control: ControlBus };
  /**
   * What a session can be addressed by, e.g. `['user:42', 'tenant:7', 'sid:ab12']`: the keys
   * `revoke({ key })` and `requestReauthentication({ key })` match, and the revocation records
   * every node checks. Called once per session (cached); a throw is a refusal with 4500.
   * @default none (the `{ key }` forms throw a TypeError)
   */
  sessionKeys?: (session: NoInfer<TSession>) => readonly string[];
  /**
   * How long a revocation record lasts when `revoke({ key })` is given no `forMs`, in
   * milliseconds. Set it to your longest session lifetime: a record outlives every credential it
   * was aimed at (a session that never expires can come back after it).
   * @default 86_400_000 (24 hours)
   */
  revocationTtlMs?: number;
  /**
   * How long a cluster-wide call waits for the other nodes' answers, in milliseconds; it then
   * resolves with the count of those that answered.
   * @default 2_000
   */
  clusterTimeoutMs?: number;
  /**
   * What a node does with a session when the revocation records cannot be read.
   * @default 'refuse'
   */
  onRevocationsUnavailable?: RevocationsUnavailable;
}

/** The defaults of {@link ClusterOptions}. */
export const clusterDefaults = {
  revocationTtlMs: 86_400_000,
  clusterTimeoutMs: 2_000,
  onRevocationsUnavailable: 'refuse',
} as const;
