import { TRPCError } from '@trpc/server';
import type { ControlBus, RevocationRecord } from '../../broker/control/types.js';
import { SessionMisuseError } from '../auth/sessionChecks.js';
import type { SessionBase } from '../auth/types.js';
import type { RevocationsUnavailable } from './options.js';

/** A session's keys for a revocation by key; the server refuses one that a record names. */
export class RevocationGate<TSession extends SessionBase> {
  private readonly keys = new WeakMap<TSession, readonly string[]>();

  constructor(
    private readonly bus: ControlBus,
    private readonly sessionKeys: ((session: TSession) => readonly string[]) | undefined,
    readonly whenUnavailable: RevocationsUnavailable,
  ) {}

  /** Whether sessions have keys at all (the `sessionKeys` option). */
  get keyed(): boolean {
    return this.sessionKeys !== undefined;
  }

  /** The session's keys, computed once per session object; a bad `sessionKeys` is a {@link SessionMisuseError}. */
  keysOf(session: TSession): readonly string[] {
    const cached = this.keys.get(session);
    if (cached !== undefined) return cached;
    if (!this.sessionKeys) return [];
    const keys: unknown = this.sessionKeys(session);
    if (!Array.isArray(keys) || !keys.every((key) => typeof key === 'string')) {
      throw new SessionMisuseError('sessionKeys must return an array of strings');
    }
    const frozen = Object.freeze([...(keys as string[])]);
    this.keys.set(session, frozen);
    return frozen;
  }

  /**
   * The keys of a live session, or none when `sessionKeys` throws for it: such a session never
   * went live (its keys were computed before it did), so nothing addressed by key can match it.
   */
  liveKeysOf(session: TSession): readonly string[] {
    try {
      return this.keysOf(session);
    } catch {
      return [];
    }
  }

  /** Whether `session` has `key` among its keys. */
  hasKey(session: TSession, key: string): boolean {
    return this.liveKeysOf(session).includes(key);
  }

  /** Whether `record` ends `session`: the session has its key and was issued before it. */
  matches(record: Pick<RevocationRecord, 'key' | 'revokedAt'>, session: TSession): boolean {
    if (!this.hasKey(session, record.key)) return false;
    const issuedAt = session.issuedAt;
    return typeof issuedAt !== 'number' || issuedAt < record.revokedAt;
  }

  /**
   * The reason of a record that ends `session`, or null. Without records to read (the store is
   * unreachable) it throws `SERVICE_UNAVAILABLE` under 'refuse'; under 'admit' it returns null
   * and calls `report`.
   */
  async check(session: TSession, report: (cause: unknown) => void): Promise<string | null> {
    const keys = this.keysOf(session);
    if (keys.length === 0) return null;
    let records: RevocationRecord[];
    try {
      records = await this.bus.readRevocations(keys);
    } catch (cause) {
      const error = new TRPCError({ code: 'SERVICE_UNAVAILABLE', message: 'The revocation records could not be read', cause });
      if (this.whenUnavailable === 'refuse') throw error;
      report(error);
      return null;
    }
    return this.firstMatch(records, session)?.reason ?? null;
  }

  /** The first of `records` that ends `session`, if any. */
  firstMatch(records: readonly RevocationRecord[], session: TSession): RevocationRecord | undefined {
    return records.find((record) => this.matches(record, session));
  }
}
