import type { WebSocket } from 'ws';
import { CloseCode } from '../../protocol/closeCodes.js';

/** The error code `ws`'s receiver gives a message over its `maxPayload`. */
export const MESSAGE_TOO_BIG = 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH';

/** The parts of `ws` 8's private per-socket state that hold its incoming size limit. */
interface Limited {
  _maxPayload?: unknown;
}
interface Receiver extends Limited {
  prependListener?: (event: 'error', listener: (error: Error & { code?: string }) => void) => unknown;
}
interface WsInternals {
  _receiver?: Receiver | null;
  _extensions?: Record<string, Limited | undefined>;
}

/**
 * Enforces a frame limit on one `ws` socket while the frame is received, not after `ws` has
 * buffered all of it: `ws` checks each frame header's length against its receiver's
 * `maxPayload`, so lowering that (and permessage-deflate's, which bounds inflation) makes it
 * refuse an oversize frame from its first bytes. `ws` would close with 1009; a listener that runs
 * before its own closes with 4413 first, so the code is the documented one whichever check fires.
 *
 * `ws` reads these private fields on every frame (ws 8). Where they are missing, `apply` does
 * nothing and the core's own check after buffering (bounded by the server's `maxPayload`) remains.
 */
export class IncomingLimit {
  private limitBytes = 0;
  private readonly serverLimitBytes: number;
  private installed = false;

  constructor(private readonly ws: WebSocket) {
    const max = (ws as unknown as WsInternals)._receiver?._maxPayload;
    this.serverLimitBytes = typeof max === 'number' ? max : 0;
  }

  /** Sets the socket's limit to `bytes`, never above what the `WebSocketServer` allows. */
  apply(bytes: number): void {
    const internals = this.ws as unknown as WsInternals;
    const receiver = internals._receiver;
    if (!receiver || typeof receiver._maxPayload !== 'number' || typeof receiver.prependListener !== 'function') return;
    this.limitBytes = this.serverLimitBytes > 0 ? Math.min(this.serverLimitBytes, bytes) : bytes;
    receiver._maxPayload = this.limitBytes;
    const deflate = internals._extensions?.['permessage-deflate'];
    if (deflate && typeof deflate._maxPayload === 'number') deflate._maxPayload = this.limitBytes;
    if (!this.installed) {
      this.installed = true;
      receiver.prependListener('error', this.onReceiverError);
    }
  }

  private readonly onReceiverError = (error: Error & { code?: string }): void => {
    if (error.code === MESSAGE_TOO_BIG && this.ws.readyState === this.ws.OPEN) {
      this.ws.close(CloseCode.PayloadTooLarge, `frame exceeds ${this.limitBytes} bytes`);
    }
  };
}
