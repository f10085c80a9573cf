/**
 * The little the server core needs from a WebSocket. Each runtime adapter (`ws` first)
 * implements it in a few lines; the core never imports a WebSocket library.
 */
export interface ServerSocket {
  /** Whether frames can still be sent (the socket is OPEN). */
  readonly isOpen: boolean;
  /** Bytes queued in the socket but not yet written to the network. */
  readonly bufferedAmount: number;
  /**
   * Sends one frame. `text` says whether it is a text frame: a `Uint8Array` may carry the
   * UTF-8 bytes of a text frame that was encoded once and is shared by many sockets.
   * `onWritten`, when given, is called once the frame has left the send buffer (or can no
   * longer be sent).
   */
  send(data: string | Uint8Array, text: boolean, onWritten?: () => void): void;
  /** Starts the closing handshake with `code` and a short `reason` (≤ 123 bytes of UTF-8). */
  close(code: number, reason: string): void;
  /**
   * Where the transport can, refuses frames over `maxBytes` while receiving them (closing with
   * `CloseCode.PayloadTooLarge`), so an oversize frame is never buffered whole. Called when the
   * connection starts and again when it is authenticated. Without it, the core checks each frame's
   * size after it arrived.
   */
  limitIncomingFrames?(maxBytes: number): void;
}
