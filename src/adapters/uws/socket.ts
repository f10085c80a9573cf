import type { ServerSocket } from '../../server/socket.js';
import type { HeldWrites } from '../../server/turnFlush.js';
import { turnFlush } from '../../server/turnFlush.js';
import type { UWSWebSocket } from './types.js';

/**
 * How much a socket holds at most before writing: its held frames go out as soon as there are
 * this many, or this many bytes (strings counted in UTF-16 code units), without waiting for the
 * end of the turn. The same bounds as the `ws` adapter's merged writes.
 */
export const uwsHeldWriteLimits = { maxFrames: 16, maxBytes: 64 * 1024 } as const;

/** One frame waiting for the end of the turn. */
interface HeldFrame {
  readonly data: string | Uint8Array;
  readonly text: boolean;
  readonly onWritten: (() => void) | undefined;
}

/**
 * A uWS WebSocket as the core's {@link ServerSocket}.
 *
 * **Merged writes.** uWS writes a frame sent outside its own callbacks at once, one system call
 * each. Here every frame is held until the end of the event-loop turn ({@link turnFlush}) and the
 * turn's frames are written inside one `ws.cork()`: a burst of events or a batch's answers leave
 * in one write. Frames keep their order; the close frame follows what is held.
 *
 * **After close.** uWS invalidates the socket object when its `close` handler runs: any call on
 * it then throws. {@link markClosed} (called from that handler) makes every method here a no-op.
 */
export class UWSServerSocket implements ServerSocket, HeldWrites {
  private open = true;
  private held: HeldFrame[] = [];
  private heldBytes = 0;
  /** Whether {@link turnFlush} will visit this socket at the end of this turn. */
  private listed = false;
  /** `onWritten` callbacks of frames still in uWS's buffer: run when it is empty (at `drain`). */
  private waitingForDrain: Array<() => void> | null = null;

  constructor(
    private readonly ws: UWSWebSocket<unknown>,
    /** Whether the route compresses (uWS's `compression` set): frames are sent with uWS's compress flag. */
    private readonly compress: boolean,
  ) {}

  get isOpen(): boolean {
    return this.open;
  }

  /** uWS's buffer (bytes the kernel would not take yet) plus what is held for the end of the turn. */
  get bufferedAmount(): number {
    return this.open ? this.ws.getBufferedAmount() + this.heldBytes : 0;
  }

  send(data: string | Uint8Array, text: boolean, onWritten?: () => void): void {
    if (!this.open) {
      onWritten?.();
      return;
    }
    const bytes = typeof data === 'string' ? data.length : data.byteLength;
    if (this.held.length > 0 && this.heldBytes + bytes > uwsHeldWriteLimits.maxBytes) this.flush();
    this.held.push({ data, text, onWritten });
    this.heldBytes += bytes;
    if (this.held.length >= uwsHeldWriteLimits.maxFrames || this.heldBytes >= uwsHeldWriteLimits.maxBytes) {
      this.flush();
    } else if (!this.listed) {
      this.listed = true;
      turnFlush.add(this);
    }
  }

  /** What is held, then the close frame, in one write. uWS calls the `close` handler from `end`. */
  close(code: number, reason: string): void {
    if (!this.open) return;
    const frames = this.take();
    this.ws.cork(() => {
      this.write(frames);
      this.ws.end(code, reason);
    });
  }

  /** Closes the TCP connection without a close frame (keep-alive's verdict): the client sees 1006. */
  terminate(): void {
    if (!this.open) return;
    this.held = [];
    this.heldBytes = 0;
    this.ws.close();
  }

  /**
   * {@link HeldWrites}: the turn ended, or another socket's callback releases this one earlier.
   * Whether written frames reached the kernel is read only at the end of the turn: inside a uWS
   * callback uWS corks the socket, and its buffer reads empty until the callback returns.
   */
  endOfTurn(turnEnded: boolean): void {
    this.listed = false;
    if (!turnEnded) {
      this.flush();
      return;
    }
    this.writeHeld();
    // Once uncorked, an empty uWS buffer means every frame reached the kernel.
    const waiting = this.waitingForDrain;
    if (waiting !== null && this.open && this.ws.getBufferedAmount() === 0) {
      this.waitingForDrain = null;
      queueMicrotask(() => runAll(waiting));
    }
  }

  /** uWS's `drain`: part of its buffer went out. */
  drained(): void {
    if (this.waitingForDrain !== null && this.open && this.ws.getBufferedAmount() === 0) this.runWritten();
  }

  /** uWS's `close` handler ran: the socket object must not be touched again. */
  markClosed(): void {
    this.open = false;
    this.held = [];
    this.heldBytes = 0;
    this.runWritten(); // "or can no longer be sent"
  }

  /** Writes what is held now; the end of the turn then tells whether it reached the kernel. */
  private flush(): void {
    this.writeHeld();
    if (this.waitingForDrain !== null && this.open && !this.listed) {
      this.listed = true;
      turnFlush.add(this);
    }
  }

  private writeHeld(): void {
    if (!this.open || this.held.length === 0) return;
    const frames = this.take();
    this.ws.cork(() => this.write(frames));
  }

  private take(): HeldFrame[] {
    const frames = this.held;
    this.held = [];
    this.heldBytes = 0;
    return frames;
  }

  private write(frames: readonly HeldFrame[]): void {
    for (const frame of frames) {
      this.ws.send(frame.data, !frame.text, this.compress);
      if (frame.onWritten) (this.waitingForDrain ??= []).push(frame.onWritten);
    }
  }

  private runWritten(): void {
    const waiting = this.waitingForDrain;
    if (waiting === null) return;
    this.waitingForDrain = null;
    runAll(waiting);
  }
}

function runAll(callbacks: ReadonlyArray<() => void>): void {
  for (const callback of callbacks) callback();
}
