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

/** A tRPC subscription request frame for procedure `path`, with id 1. */
export function subscriptionRequest(path: string): string {
  return `{"id":1,"method":"subscription","params":{"path":"${path}"}}`;
}

/** Whether `text` is the `started` answer to `subscriptionRequest`. */
export function isStarted(text: string): boolean {
  const message = JSON.parse(text) as { id?: unknown; result?: { type?: unknown } };
  return message.id === 1 && message.result?.type === 'started';
}

/**
 * The seq of a tRPC subscription data frame: a plain event (`result.data` is the event) or a
 * tracked one (`result.data` is `{ id, data: event }`, PROTOCOL.md § 4.1).
 */
export function subscriptionSeq(text: string): number {
  const message = JSON.parse(text) as { id?: unknown; result?: { type?: unknown; data?: { seq?: unknown; data?: { seq?: unknown } } } };
  const data = message.result?.data;
  if (message.id === 1 && message.result?.type === 'data') {
    if (typeof data?.seq === 'number') return data.seq;
    if (typeof data?.data?.seq === 'number') return data.data.seq;
  }
  throw new Error(`unexpected subscription frame: ${text.slice(0, 200)}`);
}

/** The seq of a raw `ws` fan-out event frame. */
export function rawEventSeq(text: string): number {
  const event = JSON.parse(text) as Partial<BenchEvent>;
  if (typeof event.seq !== 'number') throw new Error(`unexpected event: ${text.slice(0, 200)}`);
  return event.seq;
}
