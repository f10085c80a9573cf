import type { RawData, WebSocket } from 'ws';
import type { ServerSocket } from '../../server/socket.js';
import { IncomingLimit } from './payloadLimit.js';

const TEXT = { binary: false } as const;
const BINARY = { binary: true } as const;
/** WebSocket.OPEN, without importing ws at run time. */
export const OPEN = 1;

/** The part of `ws`'s private `_socket` (a `net.Socket`) used to coalesce writes. */
interface Corkable {
  cork(): void;
  uncork(): void;
}

function uncork(socket: WsServerSocket): void {
  socket.corked?.uncork();
  socket.corked = null;
}

/** A `ws` WebSocket as the core's {@link ServerSocket}. */
export class WsServerSocket implements ServerSocket {
  /**
   * The TCP socket while it is corked. The first frame sent in a tick corks it and a
   * `process.nextTick` uncorks it, after the promise jobs of that tick have run: every frame
   * a burst of events produces for this client then leaves in one `writev` instead of one
   * system call per frame (which is where most of a fan-out's time goes).
   */
  corked: Corkable | null = null;
  private readonly incoming: IncomingLimit;
  constructor(private readonly ws: WebSocket) {
    this.incoming = new IncomingLimit(ws);
  }
  get isOpen(): boolean {
    return this.ws.readyState === OPEN;
  }
  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }
  send(data: string | Uint8Array, text: boolean, onWritten?: () => void): void {
    if (this.corked === null) {
      const raw = (this.ws as unknown as { _socket?: Partial<Corkable> | null })._socket;
      if (raw && typeof raw.cork === 'function' && typeof raw.uncork === 'function') {
        raw.cork();
        this.corked = raw as Corkable;
        process.nextTick(uncork, this);
      }
    }
    this.ws.send(data, text ? TEXT : BINARY, onWritten);
  }
  close(code: number, reason: string): void {
    this.ws.close(code, reason);
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
