/**
 * A whole WebSocket text frame (RFC 6455 § 5.2: final, opcode 1, unmasked as a server's are), made
 * once per shared payload. A frame several sockets send (an event whose JSON and request id they
 * share) is then written to each socket as one buffer, instead of `ws` building and writing a
 * header for it on every socket (one allocation and a second chunk in every `writev`).
 */
const made = new WeakMap<Uint8Array, Buffer>();

/** The largest payload a 2-byte length field holds; above it the 8-byte form. */
const MAX_16_BIT = 0xffff;

export function textFrame(payload: Uint8Array): Buffer {
  const cached = made.get(payload);
  if (cached !== undefined) return cached;
  const length = payload.byteLength;
  const headerBytes = length < 126 ? 2 : length <= MAX_16_BIT ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerBytes + length);
  frame[0] = 0x81; // FIN + text
  if (length < 126) {
    frame[1] = length;
  } else if (length <= MAX_16_BIT) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  frame.set(payload, headerBytes);
  made.set(payload, frame);
  return frame;
}
