import { randomUUID } from 'node:crypto';
import type { CheckedSubscriptionTarget, SubscriptionEnding } from '../../broker/control/subscriptionTarget.js';
import type { ControlBus, ControlCommand, ControlMembership, RevocationRecord } from '../../broker/control/types.js';
import type { SessionBase } from '../auth/types.js';
import type { RevocationGate } from './revocationGate.js';

/** Commands other than a revocation older than this (a node that was cut off for long) are dropped: a late `reconnect` would only cause a storm. */
export const STALE_COMMAND_MS = 60_000;

/** What a node's handler lets the cluster do to its connections. */
export interface ClusterHost<TSession> {
  /** Closes (4410, `reason`) the live sessions `filter` matches, and those still being made; returns how many live ones. */
  revoke(filter: (session: TSession) => boolean, reason: string): number;
  requestReauthentication(filter: (session: TSession) => boolean): number;
  broadcastReconnect(): number;
  /**
   * Ends the live subscriptions `target` names (its `path` and `input` pattern) on the connections
   * whose session `sessionMatches`; returns how many.
   */
  endSubscriptions(sessionMatches: (session: TSession | null) => boolean, target: CheckedSubscriptionTarget, ending: SubscriptionEnding): number;
  /** The sessions of the open connections now. */
  sessions(): Iterable<TSession>;
  /** An unexpected failure (the store unreachable during a re-check): to `onError`. */
  report(cause: unknown): void;
}

/**
 * One handler's place in a cluster: applies the commands of the control bus to the handler's
 * connections, and re-checks its sessions against the revocation records every `recheckMs`
 * and whenever the bus was cut off from its store.
 */
export class ClusterMember<TSession extends SessionBase> {
  readonly id = randomUUID();
  private readonly membership: ControlMembership;
  private readonly timer: ReturnType<typeof setInterval>;
  private rechecking: Promise<void> | null = null;
  private recheckAgain = false;

  constructor(
    private readonly bus: ControlBus,
    private readonly gate: RevocationGate<TSession>,
    private readonly host: ClusterHost<TSession>,
    recheckMs: number,
  ) {
    this.membership = bus.join({
      id: this.id,
      apply: (envelope) => this.apply(envelope.command, envelope.sentAt),
      resynced: () => void this.recheck(),
    });
    this.timer = setInterval(() => void this.recheck(), recheckMs);
    this.timer.unref?.();
  }

  /** Applies a command to this node's connections; returns how many it affected. Never throws. */
  apply(command: ControlCommand, sentAt: number): number {
    try {
      switch (command.kind) {
        case 'revoke':
          return this.host.revoke((session) => this.gate.matches(command, session), command.reason);
        case 'reauthenticate':
          if (Date.now() - sentAt > STALE_COMMAND_MS) return 0;
          return this.host.requestReauthentication((session) => this.gate.hasKey(session, command.key));
        case 'reconnect':
          if (Date.now() - sentAt > STALE_COMMAND_MS) return 0;
          return this.host.broadcastReconnect();
        case 'end-subscriptions': {
          // It ends what runs when it is applied; late, it would end subscriptions started after it.
          if (Date.now() - sentAt > STALE_COMMAND_MS) return 0;
          const { key } = command;
          const sessionMatches = (session: TSession | null) => key === undefined || (session !== null && this.gate.hasKey(session, key));
          return this.host.endSubscriptions(sessionMatches, command, command);
        }
        default:
          return 0; // a command of a newer version: not ours to apply
      }
    } catch (cause) {
      this.host.report(cause);
      return 0;
    }
  }

  /**
   * Reads the records of every local session's keys and closes the sessions they end. One runs
   * at a time; a request meanwhile runs one more after it.
   */
  recheck(): Promise<void> {
    if (this.rechecking) {
      this.recheckAgain = true;
      return this.rechecking;
    }
    this.rechecking = this.recheckNow()
      .catch((cause: unknown) => this.host.report(cause))
      .finally(() => {
        this.rechecking = null;
        if (this.recheckAgain) {
          this.recheckAgain = false;
          void this.recheck();
        }
      });
    return this.rechecking;
  }

  /** Leaves the bus and stops the re-checks. */
  leave(): void {
    clearInterval(this.timer);
    this.membership.leave();
  }

  private async recheckNow(): Promise<void> {
    if (!this.gate.keyed) return;
    const keys = new Set<string>();
    for (const session of this.host.sessions()) for (const key of this.gate.liveKeysOf(session)) keys.add(key);
    if (keys.size === 0) return;
    const records: RevocationRecord[] = await this.bus.readRevocations([...keys]);
    for (const record of records) this.host.revoke((session) => this.gate.matches(record, session), record.reason);
  }
}
