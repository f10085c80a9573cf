/**
 * Client keep-alive for one socket: `PING` after `intervalMs` without a frame from the
 * server, give up if no `PONG` follows within `pongTimeoutMs`. It uses ONE timer, re-armed
 * only when it fires: frames just stamp a time, so a busy socket costs no timer work per
 * message.
 */
export class KeepAlive {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private awaitingPong = false;
  private lastFrameAtMs = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly pongTimeoutMs: number,
    /** Sends `PING`; returns `false` when the socket cannot send. */
    private readonly sendPing: () => boolean,
    /** No `PONG` in time: the socket is dead. */
    private readonly onPongTimeout: (error: Error) => void,
  ) {}

  /** Starts counting quiet time from now. */
  public start(): void {
    this.lastFrameAtMs = Date.now();
    this.timer = setTimeout(this.onTimer, this.intervalMs);
  }

  /** A frame (any frame) arrived from the server. */
  public onFrame(): void {
    this.lastFrameAtMs = Date.now();
  }

  /** A `PONG` arrived. */
  public onPong(): void {
    this.awaitingPong = false;
  }

  public stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    if (this.awaitingPong) {
      this.onPongTimeout(new Error(`No PONG within ${this.pongTimeoutMs} ms`));
      return;
    }
    const quietMs = Date.now() - this.lastFrameAtMs;
    if (quietMs < this.intervalMs) {
      this.timer = setTimeout(this.onTimer, this.intervalMs - quietMs);
      return;
    }
    if (!this.sendPing()) return;
    this.awaitingPong = true;
    this.timer = setTimeout(this.onTimer, this.pongTimeoutMs);
  };
}
