import type { RawData, WebSocket } from 'ws';
import type { ServerSocket } from '../../server/socket.js';
import { IncomingLimit } from './payloadLimit.js';
import type { Corkable, HeldWrites } from '../../server/turnFlush.js';
import { turnFlush } from '../../server/turnFlush.js';
import { textFrame } from './wireFrame.js';

const TEXT = { binary: false } as const;
const BINARY = { binary: true } as const;
/** WebSocket.OPEN, without importing ws at run time. */
export const OPEN = 1;

/** The part of `ws`'s private `_socket` (a `net.Socket`) used to merge writes and write prepared frames. */
interface WritableCorkable extends Corkable {
  write(chunk: Uint8Array): boolean;
}

/** `ws`'s negotiated extensions (private): with permessage-deflate every frame must go through `ws`. */
function compresses(ws: WebSocket): boolean {
  const extensions = (ws as unknown as { _extensions?: Record<string, unknown> })._extensions;
  return extensions === undefined || extensions['permessage-deflate'] !== undefined;
}

/**
 * How much one merged write carries at most: a socket's held frames go out as soon as there
 * are this many of them, or this many bytes (strings counted in UTF-16 code units), without
 * waiting for the end of the turn. A single larger frame goes out on its own.
 */
export const writeMergeLimits = { maxFrames: 16, maxBytes: 64 * 1024 } as const;

/** A `ws` WebSocket as the core's {@link ServerSocket}. */
export class WsServerSocket implements ServerSocket, HeldWrites {
  /**
   * The TCP socket while it holds writes. The first frame sent in an event-loop turn corks it,
   * and {@link turnFlush} uncorks it once the turn's I/O callbacks have run: the frames a turn
   * produces for this client (a burst of events, a batch's answers) leave in one `writev`
   * instead of one system call per frame, which is where most of a fan-out's time goes.
   * {@link writeMergeLimits} bounds what one write carries.
   */
  private corked: WritableCorkable | null = null;
  /** Whether {@link turnFlush} will visit this socket at the end of this turn. */
  private listed = false;
  private heldFrames = 0;
  private heldBytes = 0;
  private readonly incoming: IncomingLimit;
  /**
   * Whether a text frame whose bytes are shared may be written straight to the TCP socket as one
   * prepared buffer ({@link textFrame}) while it is held: `ws` sends each frame whole and in
   * call order when it does not compress, so the frames it writes itself (close, ping, answers)
   * stay in order with these.
   */
  private readonly direct: boolean;
  constructor(private readonly ws: WebSocket) {
    this.incoming = new IncomingLimit(ws);
    this.direct = !compresses(ws);
  }
  get isOpen(): boolean {
    return this.ws.readyState === OPEN;
  }
  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }
  send(data: string | Uint8Array, text: boolean, onWritten?: () => void): void {
    const bytes = typeof data === 'string' ? data.length : data.byteLength;
    if (this.corked !== null && this.heldBytes + bytes > writeMergeLimits.maxBytes) this.release();
    if (this.corked === null) this.hold();
    if (this.corked !== null && this.direct && text && typeof data !== 'string' && onWritten === undefined) {
      this.corked.write(textFrame(data));
    } else {
      this.ws.send(data, text ? TEXT : BINARY, onWritten);
    }
    if (this.corked === null) return;
    this.heldBytes += bytes;
    if (++this.heldFrames >= writeMergeLimits.maxFrames || this.heldBytes >= writeMergeLimits.maxBytes) this.release();
  }
  /** The close frame follows what is held, and all of it leaves now. */
  close(code: number, reason: string): void {
    this.ws.close(code, reason);
    this.release();
  }
  /** {@link HeldWrites}: the turn ended, or another socket's callback releases this one earlier. */
  endOfTurn(): void {
    this.listed = false;
    this.release();
  }
  private hold(): void {
    const raw = (this.ws as unknown as { _socket?: Partial<WritableCorkable> | null })._socket;
    if (!raw || typeof raw.cork !== 'function' || typeof raw.uncork !== 'function' || typeof raw.write !== 'function') return;
    raw.cork();
    this.corked = raw as WritableCorkable;
    this.heldFrames = 0;
    this.heldBytes = 0;
    if (this.listed) return;
    this.listed = true;
    turnFlush.add(this);
  }
  private release(): void {
    const corked = this.corked;
    if (corked === null) return;
    this.corked = null;
    corked.uncork();
  }
  limitIncomingFrames(maxBytes: number): void {
    this.incoming.apply(maxBytes);
  }
}

/** The bytes of a `message` event, whatever `binaryType` the socket has. */
export function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
