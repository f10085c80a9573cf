/** Something holding writes back until {@link TurnFlush} releases it at the end of the event-loop turn. */
export interface HeldWrites {
  /** The turn ended: let everything held go out now (one `writev`). */
  endOfTurn(): void;
}

/**
 * `setImmediate` as it was when this module loaded: the flush is I/O scheduling, not a timer, so
 * an app's test that fakes timers (`vi.useFakeTimers()` fakes `setImmediate` by default) must not
 * stall every socket's writes.
 */
const runAfterPoll: (callback: () => void) => unknown = globalThis.setImmediate;

/**
 * Releases every socket that held writes in this event-loop turn, with one `setImmediate` for the
 * whole process rather than one per socket. `setImmediate` runs right after the poll phase: once the
 * I/O callbacks (and their promise jobs) that produced the frames have run, and before the loop can
 * wait for more I/O, so a held answer never waits for an idle process. Frames produced by several
 * callbacks of one turn (events of a burst, answers of a batch, messages read from a broker) leave
 * each socket in one write instead of one per frame.
 */
export class TurnFlush {
  private pending: HeldWrites[] = [];
  private scheduled = false;

  /** Releases `held` at the end of this turn. Add each socket once per turn (the caller tracks it). */
  add(held: HeldWrites): void {
    this.pending.push(held);
    if (this.scheduled) return;
    this.scheduled = true;
    runAfterPoll(this.flush);
  }

  private readonly flush = (): void => {
    const pending = this.pending;
    // A socket released here may be held again by what its write callbacks send: that is the next flush.
    this.pending = [];
    this.scheduled = false;
    let failure: { cause: unknown } | null = null;
    for (const held of pending) {
      // One socket's failure must not leave the others corked for good.
      try {
        held.endOfTurn();
      } catch (cause) {
        failure ??= { cause };
      }
    }
    if (failure) throw failure.cause;
  };
}

/** The one flush of this process: every socket of every handler and adapter shares it. */
export const turnFlush = new TurnFlush();

/** A socket whose writes can be held (`net.Socket`, or `ws`'s private `_socket`). */
export interface Corkable {
  cork(): void;
  uncork(): void;
}

/** Holds `socket`'s writes until the end of this event-loop turn (see {@link TurnFlush}). */
export function holdUntilTurnEnds(socket: Corkable): void {
  socket.cork();
  turnFlush.add({ endOfTurn: () => socket.uncork() });
}
