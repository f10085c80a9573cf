/** How the server pings quiet clients; the same option as stock tRPC's `keepAlive`. */
export interface KeepAliveOptions {
  /**
   * Whether to ping clients that have been quiet.
   * @default false
   */
  enabled: boolean;
  /**
   * How long a connection may be quiet before the server sends `PING`, in milliseconds.
   * @default 30_000
   */
  pingMs?: number;
  /**
   * How long to wait for any frame after a `PING` before terminating the socket, in milliseconds.
   * @default 5_000
   */
  pongWaitMs?: number;
}

/** The defaults of {@link KeepAliveOptions}. */
export const keepAliveDefaults = { enabled: false, pingMs: 30_000, pongWaitMs: 5_000 } as const;

/** One tracked socket: whether it spoke since the last sweep, and when a ping went out. */
export interface KeepAliveEntry {
  active: boolean;
  quietSinceMs: number;
  pingSentAtMs: number | null;
  readonly ping: () => void;
  readonly terminate: () => void;
}

/**
 * One timer for every connection of a handler, instead of timers reset on every message:
 * a frame only sets `entry.active = true`. Each sweep pings sockets quiet for `pingMs` and
 * terminates those that sent nothing for `pongWaitMs` after their ping. Precision is a
 * quarter of the shorter of the two periods.
 */
export class KeepAliveSweeper {
  private readonly entries = new Set<KeepAliveEntry>();
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(
    private readonly pingMs: number,
    private readonly pongWaitMs: number,
  ) {
    const tickMs = Math.max(10, Math.min(pingMs, pongWaitMs) / 4);
    this.timer = setInterval(() => this.sweep(Date.now()), tickMs);
    this.timer.unref?.();
  }

  track(ping: () => void, terminate: () => void): KeepAliveEntry {
    const entry: KeepAliveEntry = { active: false, quietSinceMs: Date.now(), pingSentAtMs: null, ping, terminate };
    this.entries.add(entry);
    return entry;
  }

  untrack(entry: KeepAliveEntry): void {
    this.entries.delete(entry);
  }

  stop(): void {
    clearInterval(this.timer);
    this.entries.clear();
  }

  private sweep(nowMs: number): void {
    for (const entry of this.entries) {
      if (entry.active) {
        entry.active = false;
        entry.quietSinceMs = nowMs;
        entry.pingSentAtMs = null;
      } else if (entry.pingSentAtMs !== null) {
        if (nowMs - entry.pingSentAtMs >= this.pongWaitMs) {
          this.entries.delete(entry);
          entry.terminate();
        }
      } else if (nowMs - entry.quietSinceMs >= this.pingMs) {
        entry.pingSentAtMs = nowMs;
        entry.ping();
      }
    }
  }
}
