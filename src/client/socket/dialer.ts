import type { Connection } from './connection.js';
import type { SocketSlots } from './socketSlots.js';

/**
 * Whether the client wants a socket, and getting it one: dials at once or after
 * `retryDelayMs(attemptIndex)`, and places each new socket in its slot (the replacement when the
 * active one is ready, make-before-break). The attempt counter grows with every scheduled retry
 * and restarts when the client wants a socket anew or a socket was accepted.
 */
export class Dialer {
  /** Whether the client wants a socket: false after `close()`, a lazy close or a `'stop'` close. */
  public wanted: boolean;
  private attemptIndex = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly sockets: SocketSlots,
    private readonly retryDelayMs: (attemptIndex: number) => number,
    private readonly createConnection: () => Connection,
    wanted: boolean,
  ) {
    this.wanted = wanted;
  }

  /**
   * Wants a socket (restarting the attempt counter if it did not).
   * @returns whether one must be dialled now: none is in use, on its way, or scheduled
   */
  public want(): boolean {
    if (!this.wanted) {
      this.wanted = true;
      this.attemptIndex = 0;
    }
    return !this.sockets.occupied && this.retryTimer === undefined;
  }

  /** Opens a socket: the replacement when the active one is ready, else the active one. */
  public readonly dial = (): void => {
    this.retryTimer = undefined;
    if (!this.wanted) return;
    const { active } = this.sockets;
    if (active !== null && !active.isReady) return; // it is already on its way
    const connection = this.createConnection();
    this.sockets.place(connection);
    connection.open();
  };

  /** Dials after `retryDelayMs` of the next attempt, unless a dial is already scheduled. */
  public schedule(): void {
    if (this.retryTimer !== undefined) return;
    const delayMs = this.retryDelayMs(this.attemptIndex++);
    // Always through a timer, even for 0 ms: a socket that fails synchronously must not recurse.
    this.retryTimer = setTimeout(this.dial, Math.max(0, delayMs));
  }

  /** Opens a replacement for the ready socket in use (make-before-break), unless one is on its way. */
  public replaceActive(): void {
    const { active, replacement } = this.sockets;
    if (active === null || !active.isReady) return;
    if (replacement !== null || this.retryTimer !== undefined) return;
    this.dial();
  }

  /** A socket was accepted: the next loss starts again at attempt 0. */
  public resetBackoff(): void {
    this.attemptIndex = 0;
  }

  /** Wants no socket any more; a scheduled dial is cancelled. */
  public stop(): void {
    this.wanted = false;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }
}
