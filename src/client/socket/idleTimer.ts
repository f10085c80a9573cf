/**
 * Runs `onIdle` once the client has been idle for `idleMs` (lazy mode's close). ONE timer,
 * armed when the client becomes idle; a request in between does not clear it — the timer
 * re-checks when it fires — so a busy client costs no timer work per request.
 */
export class IdleTimer {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private idleSinceMs = 0;

  constructor(
    private readonly idleMs: number,
    /** Whether the client has something in flight (or no longer wants a socket). */
    private readonly isBusy: () => boolean,
    private readonly onIdle: () => void,
  ) {}

  /** The client just became idle: count from now. */
  public arm(): void {
    this.idleSinceMs = Date.now();
    this.timer ??= setTimeout(this.onTimer, this.idleMs);
  }

  public cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    if (this.isBusy()) return; // the next idle moment arms it again
    const remainingMs = this.idleMs - (Date.now() - this.idleSinceMs);
    if (remainingMs > 0) {
      this.timer = setTimeout(this.onTimer, remainingMs);
      return;
    }
    this.onIdle();
  };
}
