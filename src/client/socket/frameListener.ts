/**
 * Where a socket's incoming frames come from. With `ws` (Node), its own `on('message')`: the
 * EventTarget API `ws` also offers wraps every frame in a `MessageEvent` and a closure call,
 * which costs a round trip more than our whole request bookkeeping. With any other
 * implementation (browsers, undici, React Native…), the standard `addEventListener('message')`.
 * Either way the handler gets what the standard API shows: a string for a text frame, an
 * `ArrayBuffer` for a binary one (the connection sets `binaryType = 'arraybuffer'`).
 */

/** What the handler receives: a text frame as a string, a binary frame as the socket delivers it. */
export type FrameData = string | ArrayBuffer;

/** The part of `ws`'s Node API (an EventEmitter) the fast path uses, and the methods that identify it. */
interface NodeWsSocket {
  on(event: 'message', listener: (data: unknown, isBinary?: boolean) => void): unknown;
  terminate(): void;
  ping(): void;
  pong(): void;
}

/**
 * Whether `socket` is a `ws` WebSocket: an EventEmitter (`on`) with `ws`'s `terminate`, `ping`
 * and `pong`, which no standard WebSocket has. Decided by shape, so any copy or version of `ws`
 * (8.x) qualifies, and nothing else changes path.
 */
export function isNodeWs(socket: object): socket is NodeWsSocket {
  const candidate = socket as Partial<Record<keyof NodeWsSocket, unknown>>;
  return (
    typeof candidate.on === 'function' &&
    typeof candidate.terminate === 'function' &&
    typeof candidate.ping === 'function' &&
    typeof candidate.pong === 'function'
  );
}

/** Calls `handler` with every frame `socket` receives, in order. */
export function listenForFrames(socket: WebSocket, handler: (data: FrameData) => void): void {
  if (isNodeWs(socket)) {
    socket.on('message', (data, isBinary) => handler(frameDataOf(data, isBinary)));
  } else {
    socket.addEventListener('message', (event: MessageEvent) => handler(event.data as FrameData));
  }
}

/**
 * A `ws` frame as the standard API shows it. `ws` 8 hands text as a `Buffer` with
 * `isBinary === false` (decoded here as `ws`'s `MessageEvent` does, UTF-8), and binary as the
 * socket's `binaryType` asks: an `ArrayBuffer`. A binary view (another `binaryType`) is copied
 * out to the `ArrayBuffer` the connection asked for.
 */
function frameDataOf(data: unknown, isBinary: boolean | undefined): FrameData {
  if (typeof data === 'string') return data;
  if (isBinary === false) return String(data);
  if (ArrayBuffer.isView(data)) return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
  return data as ArrayBuffer;
}
