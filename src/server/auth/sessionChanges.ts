import { TRPCError } from '@trpc/server';

/** A `handler.revoke()` issued while a session change was pending on the connection. */
interface PendingRevocation<TSession> {
  readonly filter: (session: TSession) => boolean;
  readonly reason: string;
}

/** What a change's {@link SessionChange.wait} leaves behind while it waits: emptied when it settles or the change aborts. */
interface WaitSlot {
  resolve?: ((value: never) => void) | undefined;
  reject?: ((cause: unknown) => void) | undefined;
}

/** Why a change's signal aborts when its connection closes (as `AbortController.abort()` with no reason). */
function connectionClosed(): DOMException {
  return new DOMException('This operation was aborted', 'AbortError');
}

/** A change took longer than its deadline. */
function abortOnDeadline(change: SessionChange<unknown>, deadlineMs: number): void {
  change.abort(new TRPCError({ code: 'TIMEOUT', message: `Authentication did not finish within ${deadlineMs} ms` }));
}

/**
 * One session change being made: what it may wait on, and the revocations it must honour. Its
 * `AbortSignal` is made only when something reads it (`authenticate` reading `signal`): most
 * hooks never do, and an `AbortController` is the dearest thing a connection would make at
 * connect time (about 15 µs in a storm of connects).
 */
export class SessionChange<TSession> {
  private controller: AbortController | null = null;
  /** Set once the change is aborted: the reason. */
  private abortedWith: { readonly reason: unknown } | null = null;
  /** The waits in progress (at most one at a time in practice). */
  private slots: Set<WaitSlot> | null = null;

  constructor(
    private readonly changes: SessionChanges<TSession>,
    private readonly revocationMark: number,
  ) {}

  /** Aborted when the connection closes or the change's deadline passes; `authenticate` gets it. */
  get signal(): AbortSignal {
    if (this.controller === null) {
      this.controller = new AbortController();
      if (this.abortedWith !== null) this.controller.abort(this.abortedWith.reason);
    }
    return this.controller.signal;
  }

  /** Aborts the change: whatever it waits on is abandoned at once. */
  abort(reason: unknown): void {
    if (this.abortedWith !== null) return;
    this.abortedWith = { reason };
    this.controller?.abort(reason);
    const slots = this.slots;
    this.slots = null;
    if (slots !== null) {
      for (const slot of slots) {
        const rejectNow = slot.reject;
        slot.resolve = slot.reject = undefined;
        rejectNow?.(reason);
      }
    }
  }

  /**
   * Awaits `value` unless the change is aborted first, then rejects with the abort's reason at
   * once. A promise that never settles (a hung `authenticate`, perhaps held by the app) keeps
   * only a small slot alive, emptied on abort: nothing of the connection stays reachable through it.
   */
  wait<T>(value: T | PromiseLike<T>): Promise<T> {
    if (this.abortedWith !== null) return Promise.reject(this.abortedWith.reason as Error);
    if (typeof (value as PromiseLike<T> | null)?.then !== 'function') return Promise.resolve(value);
    return new Promise<T>((resolve, reject) => {
      const slot: WaitSlot = { resolve: resolve as (value: never) => void, reject };
      (this.slots ??= new Set()).add(slot);
      (value as PromiseLike<T>).then(
        (result) => {
          this.slots?.delete(slot);
          (slot.resolve as ((value: T) => void) | undefined)?.(result);
        },
        (cause: unknown) => {
          this.slots?.delete(slot);
          slot.reject?.(cause);
        },
      );
    });
  }

  /** The reason of a revocation issued since this change was queued that matches `session`, or null. */
  revokedBy(session: TSession): string | null {
    return this.changes.revokedSince(this.revocationMark, session);
  }
}

const settled = Promise.resolve();

/**
 * Every change of one connection's session (connect-time authentication, in-band
 * re-authentication, `revalidate`) runs here, one after another in arrival order, so a slower
 * change can never install its result over a newer one. Each change gets a signal aborted when
 * the connection closes ({@link dispose}) or its deadline passes, and sees every `revoke()`
 * issued while it was queued or running, so a session still being authenticated cannot escape a
 * revocation. An idle queue holds no promise, list or timer.
 */
export class SessionChanges<TSession> {
  /** The last change queued, while any is queued or running. */
  private tail: Promise<void> | null = null;
  private pending = 0;
  private running: SessionChange<TSession> | null = null;
  private disposed = false;
  private revocations: Array<PendingRevocation<TSession>> | null = null;
  /** The absolute index of `revocations[0]`: marks stay valid when the list is emptied. */
  private revocationBase = 0;

  constructor(private readonly deadlineMs: number) {}

  /** How many changes wait behind the one running. */
  get waiting(): number {
    return Math.max(0, this.pending - 1);
  }

  /**
   * Queues `task`; the promise settles when it has run (rejects only if `task` throws). With
   * `deadline` false the change has no timer of its own: the caller bounds it otherwise (the
   * connection's authentication deadline closes the connection, which aborts the change).
   */
  run(task: (change: SessionChange<TSession>) => Promise<void>, deadline = true): Promise<void> {
    const mark = this.revocationBase + (this.revocations?.length ?? 0);
    this.pending++;
    const step = async (): Promise<void> => {
      const change = new SessionChange<TSession>(this, mark);
      const timer = deadline && !this.disposed ? setTimeout(abortOnDeadline, this.deadlineMs, change, this.deadlineMs) : undefined;
      this.running = change;
      try {
        if (!this.disposed) await task(change);
      } finally {
        clearTimeout(timer);
        this.running = null;
        this.finished();
      }
    };
    const run = (this.tail ?? settled).then(step, step);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** The connection closed: the running change is aborted, and queued ones will not run. */
  dispose(): void {
    this.disposed = true;
    this.running?.abort(connectionClosed());
  }

  /** Records a `revoke()` for the changes pending now; false (and nothing kept) when none is. */
  noteRevocation(filter: (session: TSession) => boolean, reason: string): boolean {
    if (this.pending === 0) return false;
    (this.revocations ??= []).push({ filter, reason });
    return true;
  }

  /** @internal The reason of the first revocation from `mark` on that matches `session`, or null. */
  revokedSince(mark: number, session: TSession): string | null {
    const revocations = this.revocations;
    if (revocations === null) return null;
    for (let index = Math.max(0, mark - this.revocationBase); index < revocations.length; index++) {
      const revocation = revocations[index]!;
      if (revocation.filter(session)) return revocation.reason;
    }
    return null;
  }

  private finished(): void {
    this.pending--;
    if (this.pending > 0) return;
    this.revocationBase += this.revocations?.length ?? 0;
    this.revocations = null;
    this.tail = null;
  }
}
