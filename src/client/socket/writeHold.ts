/** The part of Node `ws`'s private `_socket` (a `net.Socket`) used to hold writes. */
interface Corkable {
  cork(): void;
  uncork(): void;
}

/**
 * Holds what `socket` writes until the returned release is called, so that several frames sent
 * in one go leave in one write; null when the WebSocket does not expose a TCP socket (browsers,
 * other implementations), which then write each frame as they always do.
 */
export function holdWrites(socket: object): Corkable | null {
  const tcp = (socket as { _socket?: Partial<Corkable> | null })._socket;
  if (!tcp || typeof tcp.cork !== 'function' || typeof tcp.uncork !== 'function') return null;
  tcp.cork();
  return tcp as Corkable;
}
