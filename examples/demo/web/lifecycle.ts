import type { ConnectionLabel } from './status.js';

/** What the lifecycle log compares between two snapshots. */
export interface LifecycleView {
  readonly label: ConnectionLabel;
  /** The stop's or the sign-out's message, when the session ended. */
  readonly endMessage: string | null;
  readonly socketsOpened: number;
  readonly refreshes: number;
  readonly tokenId: string | null;
  /** The newest access token's `role` claim. */
  readonly tokenRole: string | null;
  /** The role claim of the token the server accepted last (at connect or in band). */
  readonly acceptedRole: string | null;
}

/**
 * The log lines for what changed from `before` to `next`, in the order they happened. An
 * accepted in-band refresh whose token carries another role than the one accepted before is a
 * re-authorisation (the server re-checks every live subscription); one with the same role is a
 * routine rotation (nothing is re-checked).
 */
export function lifecycleEvents(before: LifecycleView, next: LifecycleView): string[] {
  const events: string[] = [];
  if (next.socketsOpened !== before.socketsOpened) events.push(`socket #${next.socketsOpened} opened`);
  if (next.tokenId !== before.tokenId) events.push(`new access token ${next.tokenId ?? '?'}${next.tokenRole ? ` (role ${next.tokenRole})` : ''}`);
  if (next.refreshes !== before.refreshes) {
    const from = before.acceptedRole;
    const to = next.acceptedRole;
    events.push(
      from !== null && to !== null && from !== to
        ? `role re-authorised in band (#${next.refreshes}): ${from} → ${to}, live subscriptions re-checked`
        : `routine token rotation in band (#${next.refreshes}): same role, same socket`,
    );
  }
  if (next.label !== before.label) {
    if (next.endMessage === null) events.push(`→ ${next.label}`);
    else events.push(`${next.label}: ${next.endMessage}`);
  }
  return events;
}
