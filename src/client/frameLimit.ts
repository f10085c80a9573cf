/** The server's frame limit (`maxPayloadBytes`, from `lanyard.hello`), as the client applies it. */

/**
 * Whether an encoded frame is at most `limit` bytes. For text, UTF-8 is at most three bytes
 * per UTF-16 unit, so short frames are settled without counting.
 */
export function frameBytesAtMost(frame: string | ArrayBufferLike | ArrayBufferView, limit: number): boolean {
  if (typeof frame !== 'string') return frame.byteLength <= limit;
  if (frame.length * 3 <= limit) return true;
  let bytes = 0;
  for (let i = 0; i < frame.length; i++) {
    const unit = frame.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff) {
      bytes += 4; // a surrogate pair: one 4-byte sequence for two units
      i++;
    } else bytes += 3;
    if (bytes > limit) return false;
  }
  return true;
}

/** The error a server would send for a request over its frame limit. */
export function payloadTooLarge(id: number | string, limitBytes: number) {
  return {
    id,
    error: {
      code: -32413,
      message: `Request exceeds the server's limit of ${limitBytes} bytes per frame; it was not sent`,
      data: { code: 'PAYLOAD_TOO_LARGE', httpStatus: 413 },
    },
  };
}
