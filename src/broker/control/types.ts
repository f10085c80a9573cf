/**
 * The cluster side of a broker: commands every node applies to its own connections, the
 * revocation records every node checks, and the replies that count what each node did.
 * One interface, implemented by each backend (memory: one process; Redis: every node on it).
 */

import type { TRPC_ERROR_CODE_KEY } from '@trpc/server';

/** A command for every node of a cluster, addressed by a session key (see `sessionKeys`). */
export type ControlCommand =
  /** Close (4410, `reason`) every session with `key` issued before `revokedAt`. */
  | { readonly kind: 'revoke'; readonly key: string; readonly reason: string; readonly revokedAt: number }
  /** Ask every session with `key` for fresh credentials (`requestReauthentication`). */
  | { readonly kind: 'reauthenticate'; readonly key: string }
  /** Send tRPC's `reconnect` notification to every connection. */
  | { readonly kind: 'reconnect' }
  /**
   * End (error `code` with `reason`, `lanyardReason: 'subscription-ended'`) the live subscriptions
   * of the sessions with `key` (any session without it) at `path` (any without it) whose input
   * contains the JSON pattern `input` (any input without it); the sockets stay open.
   */
  | {
      readonly kind: 'end-subscriptions';
      readonly key?: string;
      readonly path?: string;
      readonly input?: unknown;
      readonly code: TRPC_ERROR_CODE_KEY;
      readonly reason: string;
    };

/** A posted command with what every node needs to answer it. */
export interface ControlEnvelope {
  /** Unique per command; replies quote it. */
  readonly id: string;
  /** The bus (process) that posted it: replies go there. */
  readonly from: string;
  /** The node that already applied it itself (a handler's own call): it does not apply it again. */
  readonly appliedBy: string | null;
  /** When it was posted, in ms since the epoch (the poster's clock). */
  readonly sentAt: number;
  readonly command: ControlCommand;
}

/** One node's answer to a command: how many of its connections the command affected. */
export interface ControlReply {
  /** The command's {@link ControlEnvelope.id}. */
  readonly id: string;
  readonly node: string;
  readonly affected: number;
}

/**
 * A sticky revocation: until it expires, every node refuses (4410, `reason`) a session that has
 * `key` among its session keys and was issued before `revokedAt` (a session without `issuedAt`
 * counts as issued before).
 */
export interface RevocationRecord {
  readonly key: string;
  readonly reason: string;
  /** When the revocation was issued, in ms since the epoch (the issuer's clock). */
  readonly revokedAt: number;
}

/** A node on the bus: a handler that serves connections. */
export interface ControlNode {
  /** Unique per node (a handler), stable for its life. */
  readonly id: string;
  /** Applies a command to the node's connections; returns how many it affected. Never throws. */
  apply(envelope: ControlEnvelope): number;
  /**
   * The bus lost its store for a while and is back: commands may have been missed (beyond what
   * the bus retains). Re-check every local session against the revocation records.
   */
  resynced(): void;
}

/** A node's place on the bus, from {@link ControlBus.join}. */
export interface ControlMembership {
  /** Leaves the bus: the node stops receiving commands and is no longer waited for. Idempotent. */
  leave(): void;
}

/**
 * What a backend provides for cluster control. Commands reach every joined node once, in the
 * order they were posted, including across a brief outage of the node's link to the store (they
 * are read from a log with a remembered position, not only pushed).
 */
export interface ControlBus {
  /** This bus's id: the `from` of what it posts. */
  readonly id: string;
  /** Stores a revocation record for `ttlMs`, replacing an older one of the same key. */
  writeRevocation(record: RevocationRecord, ttlMs: number): Promise<void>;
  /** Deletes `key`'s revocation record; resolves true when there was one. */
  liftRevocation(key: string): Promise<boolean>;
  /** The unexpired records of these keys (at most one per key, in no particular order). */
  readRevocations(keys: readonly string[]): Promise<RevocationRecord[]>;
  /** Appends a command for every node; resolves once the store holds it. */
  post(envelope: ControlEnvelope): Promise<void>;
  /** The ids of the nodes joined now (on a shared store: those that showed signs of life recently). */
  nodes(): Promise<string[]>;
  /** Joins `node`: from now on it gets every posted command and its replies go to their posters. */
  join(node: ControlNode): ControlMembership;
  /** Receives the replies addressed to this bus; returns the function that stops it. */
  onReply(listener: (reply: ControlReply) => void): () => void;
}
