/**
 * The reasons uWS gives its `close` handler (code 1006, no close frame sent) when it closed a
 * socket because the client broke the WebSocket protocol (uWS's `WebSocketProtocol.h`). Like
 * `ws`'s protocol errors with the `ws` adapter, they are reported to `onError`. Not among them:
 * a frame over `maxPayloadBytes` (documented: the client sees 1006), uWS's idle timeout, and a
 * client that simply went away.
 */
const violations = new Set([
  'Received invalid UTF-8',
  'Received invalid WebSocket frame',
  'Received invalid close payload',
  'Received too big message, or other inflation error',
]);

/** The error to report for how uWS closed a socket, or null when the close says nothing wrong. */
export function protocolViolation(code: number, message: ArrayBuffer): Error | null {
  if (code !== 1006 || message.byteLength === 0) return null;
  const reason = Buffer.from(message).toString('utf8');
  return violations.has(reason) ? new Error(`uWebSockets.js closed the socket: ${reason}`) : null;
}
