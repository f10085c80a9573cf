import { randomUUID } from 'node:crypto';
import type { EndSubscriptionsOptions, SubscriptionTarget } from './subscriptionTarget.js';
import { checkEnding, checkSubscriptionTarget } from './subscriptionTarget.js';
import type { ControlBus, ControlCommand, ControlReply } from './types.js';

/** Addresses every session that has `key` among its session keys (`sessionKeys(session)`), on every node. */
export interface SessionKeyTarget {
  readonly key: string;
}

/** What a cluster-wide call resolves with. */
export interface ClusterResult {
  /** Connections affected (subscriptions ended, for `endSubscriptions`), summed over the nodes that answered. */
  readonly affected: number;
  /** The nodes the call waited for: those joined when it was made (on Redis: alive in the last `nodeTtlMs`). */
  readonly waitedFor: readonly string[];
  /** The nodes that answered within the timeout; the others apply the command when they can, uncounted. */
  readonly answered: readonly string[];
}

/** Options of a cluster-wide revocation. */
export interface ClusterRevokeOptions {
  /** The close reason the client sees; a longer one than a close frame holds (123 bytes of UTF-8) is cut at a character boundary. @default 'session revoked' */
  reason?: string;
  /**
   * How long the revocation record lasts, in milliseconds: until then every node refuses (4410)
   * a session with the key that was issued before the revocation (see `SessionBase.issuedAt`).
   * Set it to your longest session lifetime, so it outlives every credential it was aimed at.
   * @default the control's `revocationTtlMs` (86_400_000, 24 hours)
   */
  forMs?: number;
}

/** Options of {@link createClusterControl}. */
export interface ClusterControlOptions {
  /**
   * How long a cluster-wide call waits for the nodes' answers, in milliseconds; it then resolves
   * with the ones that answered.
   * @default 2_000
   */
  timeoutMs?: number;
  /**
   * The default `forMs` of a revocation: your longest session lifetime.
   * @default 86_400_000 (24 hours)
   */
  revocationTtlMs?: number;
}

/** The defaults of {@link ClusterControlOptions}. */
export const clusterControlDefaults = {
  timeoutMs: 2_000,
  revocationTtlMs: 86_400_000,
  reason: 'session revoked',
} as const;

/**
 * Revoke, ask for re-authentication, end subscriptions and broadcast `reconnect` across every node of a cluster,
 * from any process with the broker: a node, an admin API, a job, an identity provider's webhook.
 */
export interface ClusterControl {
  /**
   * Writes a revocation record for `key` (every node refuses such a session at connect, in-band
   * re-authentication, resume and revalidation until it expires), then closes every live session
   * with `key` on every node with 4410 and `reason`. Rejects when the record could not be stored.
   */
  revoke(target: SessionKeyTarget, options?: ClusterRevokeOptions): Promise<ClusterResult>;
  /** Asks every client whose session has `key` for fresh credentials, on every node (4408 if it does not answer). */
  requestReauthentication(target: SessionKeyTarget): Promise<ClusterResult>;
  /** Sends tRPC's `reconnect` notification to every connection of every node. */
  broadcastReconnectNotification(): Promise<ClusterResult>;
  /**
   * Ends, on every node, the live subscriptions `target` names (by session key, path and input
   * pattern): each gets an error frame (`code`, `reason`, `lanyardReason: 'subscription-ended'`)
   * and `stopped`; the sockets and their other subscriptions go on. Not a ban: a subscription
   * started after a node applied it runs. Resolves with the subscriptions ended; rejects with a
   * TypeError for a target without `key` and `path`, an `input` that is not JSON, or a `code`
   * tRPC does not know.
   */
  endSubscriptions(target: SubscriptionTarget, options?: EndSubscriptionsOptions): Promise<ClusterResult>;
  /** Deletes `key`'s revocation record before it expires; resolves true when there was one. */
  liftRevocation(target: SessionKeyTarget): Promise<boolean>;
}

/** @internal A node's own share of a command, applied at once where it was issued. */
export interface LocalApply {
  readonly node: string;
  apply(command: ControlCommand, sentAt: number): number;
}

function checkTarget(target: SessionKeyTarget): string {
  const key = (target as Partial<SessionKeyTarget> | null)?.key;
  if (typeof key !== 'string' || key.length === 0) throw new TypeError('trpc-lanyard: a cluster target is { key: string } with a non-empty key');
  return key;
}

function checkPositive(name: string, value: number): number {
  if (!(value > 0) || !Number.isFinite(value)) throw new RangeError(`trpc-lanyard: ${name} must be a positive number of milliseconds, got ${String(value)}`);
  return value;
}

/**
 * Cluster-wide calls over a broker's control bus. `local` is the calling handler's own node: it
 * applies the command at once (even when the store is unreachable) and is not sent it again.
 */
export function createClusterControl(bus: ControlBus | { readonly control: ControlBus }, options: ClusterControlOptions = {}, local?: LocalApply): ClusterControl {
  const control = 'control' in bus ? bus.control : bus;
  const timeoutMs = checkPositive('timeoutMs', options.timeoutMs ?? clusterControlDefaults.timeoutMs);
  const revocationTtlMs = checkPositive('revocationTtlMs', options.revocationTtlMs ?? clusterControlDefaults.revocationTtlMs);

  /** Applies `command` locally, runs `store` (the revocation record), then posts it and counts the answers. */
  const send = async (command: ControlCommand, store?: () => Promise<void>): Promise<ClusterResult> => {
    const id = randomUUID();
    const sentAt = command.kind === 'revoke' ? command.revokedAt : Date.now();
    const localAffected = local ? local.apply(command, sentAt) : 0;
    // The record before the command: a session that connects after the command went out is refused by it.
    await store?.();
    const waitedFor = new Set(await control.nodes());
    if (local) waitedFor.add(local.node);
    const answered = new Map<string, number>();
    if (local) answered.set(local.node, localAffected);
    let stop = (): void => {};
    const done = new Promise<void>((resolve) => {
      const check = () => {
        for (const node of waitedFor) if (!answered.has(node)) return;
        resolve();
      };
      const timer = setTimeout(resolve, timeoutMs);
      const unsubscribe = control.onReply((reply: ControlReply) => {
        if (reply.id !== id) return;
        answered.set(reply.node, reply.affected);
        check();
      });
      stop = () => {
        clearTimeout(timer);
        unsubscribe();
      };
      check();
    });
    try {
      await control.post({ id, from: control.id, appliedBy: local?.node ?? null, sentAt, command });
      await done;
    } finally {
      stop();
    }
    let affected = 0;
    for (const count of answered.values()) affected += count;
    return { affected, waitedFor: [...waitedFor], answered: [...answered.keys()] };
  };

  return {
    async revoke(target, { reason = clusterControlDefaults.reason, forMs = revocationTtlMs } = {}) {
      const key = checkTarget(target);
      checkPositive('forMs', forMs);
      const revokedAt = Date.now();
      return send({ kind: 'revoke', key, reason, revokedAt }, () => control.writeRevocation({ key, reason, revokedAt }, forMs));
    },
    requestReauthentication: async (target) => send({ kind: 'reauthenticate', key: checkTarget(target) }),
    broadcastReconnectNotification: () => send({ kind: 'reconnect' }),
    endSubscriptions: async (target, options) => send({ kind: 'end-subscriptions', ...checkSubscriptionTarget(target), ...checkEnding(options) }),
    liftRevocation: async (target) => control.liftRevocation(checkTarget(target)),
  };
}
