/** Something holding writes back until {@link TurnFlush} releases it at the end of the event-loop turn. */
export interface HeldWrites {
  /**
   * Let everything held go out now (one `writev`). `turnEnded` is true at the end of the turn,
   * false when a socket's I/O callback releases it earlier ({@link TurnFlush.releaseEarlier}):
   * the process may then be inside a server library's callback, where a socket's buffer may not
   * yet show what was just written.
   */
  endOfTurn(turnEnded: boolean): void;
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
 * callbacks of one turn (events of a burst, messages read from a broker, the answers to one read's
 * batch) leave each socket in one write instead of one per frame. Reading a socket (a frame, an
 * upgrade) releases what the other sockets held ({@link releaseEarlier}), so a turn that reads
 * many sockets does not hold the first ones' answers until the last is read.
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

  /**
   * A socket is read (a frame, an upgrade): what other sockets held goes out now instead of
   * waiting for the whole poll phase. The callbacks that produced it (and their promise jobs)
   * have run, so nothing would join it; a poll phase that reads many sockets (a connect storm)
   * would otherwise keep every answer until the last socket was read. `reader` (the socket being
   * read, as its adapter added it; null for a new socket) keeps what it holds: the answers to the frames of one read still share its writes.
   * Frames produced outside socket reads (a burst, a broker's messages) still leave together.
   */
  releaseEarlier(reader: object | null): void {
    const pending = this.pending;
    if (pending.length === 0 || (pending.length === 1 && pending[0] === reader)) return;
    const failure = this.release(false, reader);
    // Another socket's failure is not this callback's, whose frame must still be read: it
    // surfaces right after, as it would from the end-of-turn flush.
    if (failure) queueMicrotask(() => rethrow(failure.cause));
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const failure = this.release(true, null);
    if (failure) throw failure.cause;
  };

  /**
   * Releases every pending socket but `kept`, which stays pending for the flush already scheduled;
   * returns the first failure, after all of them were released.
   */
  private release(turnEnded: boolean, kept: object | null): { cause: unknown } | null {
    const pending = this.pending;
    // A socket released here may be held again by what its write callbacks send: that is the next flush.
    this.pending = [];
    let failure: { cause: unknown } | null = null;
    for (const held of pending) {
      if (held === kept) {
        this.pending.push(held);
        continue;
      }
      // One socket's failure must not leave the others corked for good.
      try {
        held.endOfTurn(turnEnded);
      } catch (cause) {
        failure ??= { cause };
      }
    }
    return failure;
  }
}

function rethrow(cause: unknown): never {
  throw cause;
}

/** The one flush of this process: every socket of every handler and adapter shares it. */
export const turnFlush = new TurnFlush();

/** A socket whose writes can be held (`net.Socket`, or `ws`'s private `_socket`). */
export interface Corkable {
  cork(): void;
  uncork(): void;
}

/**
 * Holds an accepted upgrade's writes (its `101` response, `lanyard.hello`) until the end of this
 * event-loop turn (see {@link TurnFlush}). An upgrade is a socket's I/O callback beginning, so
 * what other sockets held goes out first ({@link TurnFlush.releaseEarlier}).
 */
export function holdUntilTurnEnds(socket: Corkable): void {
  turnFlush.releaseEarlier(null);
  socket.cork();
  turnFlush.add({ endOfTurn: () => socket.uncork() });
}
