/**
 * The two raw baselines' wire formats:
 * - raw `ws` fan-out: a subscriber sends `SUBSCRIBE`, the server answers `STARTED` and then sends
 *   every event as `JSON.stringify(event)`, one string for all sockets;
 * - raw-protocol client: tRPC's own JSON request and result frames (PROTOCOL.md § 3.1, § 4.1),
 *   written and read without any tRPC code.
 */
import type { BenchEvent } from './router.js';

export const SUBSCRIBE = '{"subscribe":"event"}';
export const STARTED = '{"started":true}';

/** A tRPC `echo` query frame with id `n`. */
export function echoRequest(n: number): string {
  return `{"id":${n},"method":"query","params":{"path":"echo","input":{"n":${n},"text":"ping"}}}`;
}

/** The id of a tRPC result frame answering `echoRequest(id)`, or an error saying what is wrong with it. */
export function echoReplyId(text: string): number {
  const message = JSON.parse(text) as { id?: unknown; result?: { type?: unknown; data?: { n?: unknown } } };
  const id = message.id;
  if (typeof id !== 'number' || message.result?.type !== 'data' || message.result.data?.n !== id) {
    throw new Error(`unexpected echo reply: ${text.slice(0, 200)}`);
  }
  return id;
}

/** The seq of a raw `ws` fan-out event frame. */
export function rawEventSeq(text: string): number {
  const event = JSON.parse(text) as Partial<BenchEvent>;
  if (typeof event.seq !== 'number') throw new Error(`unexpected event: ${text.slice(0, 200)}`);
  return event.seq;
}
