import { PONG } from '../protocol/messages.js';
import type { Frame } from './frames.js';
import type { ServerSocket } from './socket.js';

/**
 * The one bounded path out of a connection: every frame the server sends on it (answers, events,
 * `PONG`, keep-alive `PING`) goes through {@link Outgoing.send}, so a client that stops reading
 * meets `maxBufferedBytes` instead of growing the server's memory without end.
 */
export class Outgoing {
  private pongWaiting = false;

  constructor(
    private readonly socket: ServerSocket,
    private readonly maxBufferedBytes: number,
    /** Whether a `Uint8Array` frame holds a text frame's UTF-8 (JSON) rather than an encoder's binary. */
    private readonly bytesAreText: boolean,
    /** Called instead of sending once more than `maxBufferedBytes` wait; the connection then closes (4507). */
    private readonly overflow: () => void,
  ) {}

  send(frame: Frame, onWritten?: () => void): void {
    if (this.socket.bufferedAmount > this.maxBufferedBytes) {
      this.overflow();
      return;
    }
    this.socket.send(frame, typeof frame === 'string' || this.bytesAreText, onWritten);
  }

  /**
   * Answers a `PING`. At most one `PONG` waits in the send buffer: a client that floods `PING`
   * without reading gets one answer for all of them (they are indistinguishable), not a buffer
   * entry per `PING`, whose overhead `bufferedAmount` does not count.
   */
  pong(): void {
    if (this.pongWaiting) return;
    this.pongWaiting = true;
    this.send(PONG, this.pongWritten);
  }

  private readonly pongWritten = (): void => {
    this.pongWaiting = false;
  };
}
