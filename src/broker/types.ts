import type { TrackedEnvelope } from '@trpc/server';
import type { ControlBus } from './control/types.js';

/** Why a stream could not replay every event after its `lastEventId`. */
export type HistoryGapReason =
  /** The id's epoch is not the channel's current one (another store, a restarted process, lost
   * or evicted keys), or it names an offset the channel never reached. */
  | 'epoch'
  /** Events after the id are no longer retained (`historySize` / `historyTtlMs`), including a
   * live subscriber that fell more than the retained history behind. */
  | 'evicted'
  /** More than `recoveryLimit` events would have to be replayed. */
  | 'recovery-limit';

/** What a {@link StreamOptions.onGap} hook is told. */
export interface HistoryGap {
  readonly channel: string;
  readonly reason: HistoryGapReason;
  /** The id the stream could not resume after. */
  readonly lastEventId: string;
  /**
   * The id the snapshot will be yielded with: the channel's newest event when the gap was found
   * (`<epoch>.0` if it has none). The stream continues live with the events after it.
   */
  readonly position: string;
}

/** Options of {@link Broker.stream}. */
export interface StreamOptions<TSnapshot = never> {
  /**
   * Resume after this event id (tRPC puts the last `tracked()` id a client received in the
   * subscription's input as `lastEventId`). `null`/absent: live events only, from now on.
   * An id that is not a broker event id rejects with `MalformedEventIdError` (BAD_REQUEST).
   */
  lastEventId?: string | null | undefined;
  /** Ends the stream (it returns, with no error) and releases everything it holds. */
  signal?: AbortSignal | undefined;
  /**
   * Called instead of failing with a `HistoryGapError` when the events after `lastEventId`
   * cannot all be replayed. Its value is yielded as `tracked(gap.position, snapshot)` and the
   * stream continues live after `gap.position`. The position is fixed before the hook runs, so
   * events published while the snapshot is being built are delivered after it even when the
   * snapshot already reflects them: apply them idempotently. If it throws, the stream fails
   * with that error.
   */
  onGap?: ((gap: HistoryGap) => TSnapshot | Promise<TSnapshot>) | undefined;
}

/** Options of {@link Broker.publish}. */
export interface PublishOptions {
  /**
   * A retried publish with the same key on the same channel within `idempotencyWindowMs`
   * appends nothing and resolves with the first publish's event id.
   */
  idempotencyKey?: string | undefined;
}

/**
 * Per-channel event streams with bounded history, for exact resume with tRPC's `tracked()` /
 * `lastEventId`. Per channel: events in publish order, none missed, none twice, within the
 * retention window; outside it, an explicit history gap, never a partial replay.
 */
export interface Broker {
  /**
   * Appends `data` to `channel` and delivers it to the channel's streams. Resolves with the
   * event id. `data` must be JSON-serialisable (backends that store it elsewhere serialise it
   * once per publish); the memory broker shares it with every subscriber: don't mutate it.
   * Rejects after {@link Broker.close} or when the store is unreachable.
   */
  publish(channel: string, data: unknown, options?: PublishOptions): Promise<string>;
  /**
   * The channel's events after `options.lastEventId`, then live ones, as `tracked(id, data)`
   * envelopes — so a procedure is `yield* broker.stream(channel, { lastEventId, signal })`.
   * Fails with `HistoryGapError` (code PRECONDITION_FAILED) when it cannot replay every missed
   * event (see `onGap`), with `MalformedEventIdError` (BAD_REQUEST) on an id it can't parse,
   * and with `BrokerClosedError` (SERVICE_UNAVAILABLE) when the broker is closed under it.
   */
  stream<TData = unknown, TSnapshot = never>(
    channel: string,
    options?: StreamOptions<TSnapshot>,
  ): AsyncIterable<TrackedEnvelope<TData | TSnapshot>>;
  /**
   * Cluster control: the commands (revoke, re-authenticate, reconnect by session key) every node
   * applies, and the revocation records every node checks. A handler given this broker joins it;
   * `createClusterControl(broker)` drives it from any process.
   */
  readonly control: ControlBus;
  /** Ends every stream (with `BrokerClosedError`) and releases the broker's resources. Idempotent. */
  close(): Promise<void>;
}

/** Retention options every backend accepts. */
export interface BrokerOptions {
  /**
   * Events kept per channel for resume. A live subscriber further behind than this gets a gap.
   * @default 1_000 (events)
   */
  historySize?: number;
  /**
   * How long an event stays replayable after it was published (backends may keep it longer, never
   * shorter, while it is within `historySize`).
   * @default 300_000 (5 minutes)
   */
  historyTtlMs?: number;
  /**
   * How long a channel's epoch and top offset are kept after its last publish. They outlive the
   * history so that a client whose events all expired still gets a gap (not a silent restart of
   * offsets); after this time the channel starts over in a new epoch.
   * @default 86_400_000 (24 hours)
   */
  metaTtlMs?: number;
  /**
   * The most events one resume replays; a client further behind gets a gap instead.
   * @default 1_000 (events)
   */
  recoveryLimit?: number;
  /**
   * How long a publish's `idempotencyKey` is remembered per channel.
   * @default 300_000 (5 minutes)
   */
  idempotencyWindowMs?: number;
}

/** The defaults of {@link BrokerOptions}. */
export const brokerDefaults = {
  historySize: 1_000,
  historyTtlMs: 300_000,
  metaTtlMs: 86_400_000,
  recoveryLimit: 1_000,
  idempotencyWindowMs: 300_000,
} as const satisfies Required<BrokerOptions>;

/** Resolves and checks {@link BrokerOptions}; throws a RangeError naming the bad option. */
export function resolveBrokerOptions(options: BrokerOptions = {}): Required<BrokerOptions> {
  const resolved = { ...brokerDefaults, ...stripUndefined(options) };
  for (const [name, value] of Object.entries(resolved)) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`trpc-lanyard/broker: ${name} must be a positive integer, got ${String(value)}`);
    }
  }
  if (resolved.metaTtlMs < resolved.historyTtlMs) {
    throw new RangeError('trpc-lanyard/broker: metaTtlMs must be >= historyTtlMs');
  }
  return resolved;
}

function stripUndefined(options: BrokerOptions): BrokerOptions {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
}
