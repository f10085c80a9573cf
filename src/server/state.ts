/**
 * The phases of one server-side connection. Every change goes through
 * {@link nextPhase}, which refuses any move the diagram in PROTOCOL.md does not have:
 *
 * ```
 * AwaitingParams ──params frame──► Authenticating ──accepted──► Ready ◄──refreshed── Stale
 *        │                               │                        │ expiresAt passed ──▲
 *        └── timeout / bad frame / refused / revoked / grace over / socket closed ──► Closed
 * ```
 * A connection opened without `connectionParams=1` starts in Authenticating.
 */
export const Phase = {
  /** The URL said `connectionParams=1`; the first frame must be them. */
  AwaitingParams: 'awaiting-params',
  /** `authenticate` and `createContext` are running; calls wait in a bounded queue. */
  Authenticating: 'authenticating',
  /** Calls run as they arrive. */
  Ready: 'ready',
  /** The session expired; calls wait in the queue for an in-band refresh until the grace ends. */
  Stale: 'stale',
  /** The socket is closed or closing; nothing more is sent or run. */
  Closed: 'closed',
} as const;

export type Phase = (typeof Phase)[keyof typeof Phase];

const allowed: Record<Phase, readonly Phase[]> = {
  [Phase.AwaitingParams]: [Phase.Authenticating, Phase.Closed],
  [Phase.Authenticating]: [Phase.Ready, Phase.Closed],
  [Phase.Ready]: [Phase.Stale, Phase.Closed],
  [Phase.Stale]: [Phase.Ready, Phase.Closed],
  [Phase.Closed]: [],
};

/** Returns `to` when the move from `from` is allowed; throws otherwise (a bug, never input). */
export function nextPhase(from: Phase, to: Phase): Phase {
  if (!allowed[from].includes(to)) throw new Error(`trpc-lanyard: no transition from ${from} to ${to}`);
  return to;
}
