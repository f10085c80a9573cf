/** The server's frame limits (`maxPayloadBytes`, `maxBatchSize`, from `lanyard.hello`), as the client applies them. */
import type { ServerInfo } from './negotiation.js';

/** Where {@link writeWithinLimits} puts its output. */
export interface FrameSink {
  encode(payload: unknown): string | ArrayBufferLike | ArrayBufferView;
  write(frame: string | ArrayBufferLike | ArrayBufferView): void;
  /** A single message over the byte limit: not sent; answered locally instead. */
  refuse(message: unknown, limitBytes: number): void;
}

/**
 * Writes `payload` (one message or a batch) as frames that fit the server's limits, known from
 * `lanyard.hello` (`null`: a stock server, or no hello yet, so no limit is known). A batch is cut
 * to `maxBatchSize`, then halved until each frame is at most `maxPayloadBytes`. A single message
 * over the limit is not sent — the server would close the socket (4413) and every call on it
 * would fail — but handed to `sink.refuse`.
 */
export function writeWithinLimits(payload: unknown, limits: ServerInfo | null, sink: FrameSink): void {
  const maxBatch = limits?.maxBatchSize;
  if (maxBatch !== undefined && Array.isArray(payload) && payload.length > maxBatch) {
    for (let first = 0; first < payload.length; first += maxBatch) {
      writeWithinLimits(unwrapSingle(payload.slice(first, first + maxBatch)), limits, sink);
    }
    return;
  }
  const frame = sink.encode(payload);
  const limit = limits?.maxPayloadBytes;
  if (limit === undefined || frameBytesAtMost(frame, limit)) sink.write(frame);
  else writeHalves(Array.isArray(payload) ? payload : [payload], limit, sink);
}

function writeHalves(messages: readonly unknown[], limit: number, sink: FrameSink): void {
  if (messages.length === 1) {
    sink.refuse(messages[0], limit);
    return;
  }
  const half = messages.length >> 1;
  for (const part of [messages.slice(0, half), messages.slice(half)]) {
    const frame = sink.encode(unwrapSingle(part));
    if (frameBytesAtMost(frame, limit)) sink.write(frame);
    else writeHalves(part, limit, sink);
  }
}

/** A batch of one is sent as the message itself. */
function unwrapSingle(messages: readonly unknown[]): unknown {
  return messages.length === 1 ? messages[0] : messages;
}

/**
 * Whether an encoded frame is at most `limit` bytes. For text, UTF-8 is at most three bytes
 * per UTF-16 unit, so short frames are settled without counting.
 */
function frameBytesAtMost(frame: string | ArrayBufferLike | ArrayBufferView, limit: number): boolean {
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
