import type { AnyRouter } from '@trpc/server';
import type { ErrorShape, RequestId } from '../protocol/messages.js';
import type { Encoder } from './options.js';

/** A frame ready for `ServerSocket.send`: a string, or the shared UTF-8 bytes of a text frame. */
export type Frame = string | Uint8Array;

/**
 * What one request's frames begin with, computed once per request: with JSON,
 * `{"id":<id>[,"jsonrpc":"2.0"]`.
 */
export interface FrameHead {
  readonly id: RequestId;
  readonly jsonrpc: '2.0' | undefined;
  readonly json: string;
}

interface SharedEntry {
  /** The JSON of the (frozen) value, or undefined when it serialises to nothing. */
  readonly json: string | undefined;
  /** The last whole frame built from it, and what it was built for. */
  frameHead: string | null;
  frameEventId: string | undefined;
  frame: Uint8Array | null;
}

const utf8 = new TextEncoder();

/**
 * Builds every frame a server sends for requests. With JSON and an identity transformer
 * (no `transformer` on the router), the JSON of a *frozen* value is computed once and shared
 * by every subscription that yields it, and when two sockets get byte-identical frames
 * (same request id, as stock clients' counters often give) they share one encoded buffer:
 * a broadcast is serialised once, not once per subscriber. A frozen object is taken to be
 * immutable (including what it references); other values are serialised on every send.
 */
export class FrameBuilder {
  private readonly serialize: (value: unknown) => unknown;
  /** Whether the transformer returns what it is given; probed at the first data frame, not at creation. */
  private identity: boolean | undefined;
  private readonly shared = new WeakMap<object, SharedEntry>();

  constructor(
    router: AnyRouter,
    private readonly encoder: Encoder | undefined,
  ) {
    const transformer = router._def._config.transformer;
    this.serialize = (value) => transformer.output.serialize(value);
  }

  head(id: RequestId, jsonrpc: '2.0' | undefined): FrameHead {
    const json = `{"id":${JSON.stringify(id)}${jsonrpc ? ',"jsonrpc":"2.0"' : ''}`;
    return { id, jsonrpc, json };
  }

  started(head: FrameHead): Frame {
    if (this.encoder) return this.encoder.encode({ id: head.id, jsonrpc: head.jsonrpc, result: { type: 'started' } });
    return `${head.json},"result":{"type":"started"}}`;
  }

  stopped(head: FrameHead): Frame {
    if (this.encoder) return this.encoder.encode({ id: head.id, jsonrpc: head.jsonrpc, result: { type: 'stopped' } });
    return `${head.json},"result":{"type":"stopped"}}`;
  }

  /** An error frame; `head` null for connection-level errors (`"id": null`). */
  error(head: FrameHead | null, shape: ErrorShape): Frame {
    const message = { id: head ? head.id : null, jsonrpc: head?.jsonrpc, error: shape };
    return this.encoder ? this.encoder.encode(message) : JSON.stringify(message);
  }

  /** Any other server message (notifications), encoded as is. */
  message(message: object): Frame {
    return this.encoder ? this.encoder.encode(message) : JSON.stringify(message);
  }

  /**
   * A data frame: the result of a query or mutation, or a subscription event. With
   * `eventId` it is a `tracked()` event, sent as tRPC does: `result.id` plus
   * `data: { id, data }`. Throws when the value cannot be serialised.
   */
  data(head: FrameHead, value: unknown, eventId?: string): Frame {
    if (this.encoder || !(this.identity ??= this.probeIdentity())) return this.transformed(head, value, eventId);
    if (typeof value === 'object' && value !== null && Object.isFrozen(value)) {
      return this.sharedFrame(head, value, eventId);
    }
    return this.compose(head.json, JSON.stringify(value) as string | undefined, eventId);
  }

  /**
   * Runs the user's transformer once, lazily: creating a handler must not call user code
   * (stock tRPC does not), and a transformer that throws here is simply not the identity.
   */
  private probeIdentity(): boolean {
    const probe = {};
    try {
      return this.serialize(probe) === probe;
    } catch {
      return false;
    }
  }

  private transformed(head: FrameHead, value: unknown, eventId: string | undefined): Frame {
    const data = this.serialize(eventId === undefined ? value : { id: eventId, data: value });
    const result = eventId === undefined ? { type: 'data', data } : { type: 'data', id: eventId, data };
    const message = { id: head.id, jsonrpc: head.jsonrpc, result };
    return this.encoder ? this.encoder.encode(message) : JSON.stringify(message);
  }

  private sharedFrame(head: FrameHead, value: object, eventId: string | undefined): Frame {
    let entry = this.shared.get(value);
    if (!entry) {
      entry = { json: JSON.stringify(value) as string | undefined, frameHead: null, frameEventId: undefined, frame: null };
      this.shared.set(value, entry);
    }
    if (entry.frame && entry.frameHead === head.json && entry.frameEventId === eventId) return entry.frame;
    const frame = utf8.encode(this.compose(head.json, entry.json, eventId));
    entry.frameHead = head.json;
    entry.frameEventId = eventId;
    entry.frame = frame;
    return frame;
  }

  private compose(headJson: string, json: string | undefined, eventId: string | undefined): string {
    const data = json === undefined ? '' : `,"data":${json}`;
    if (eventId === undefined) return `${headJson},"result":{"type":"data"${data}}}`;
    const id = JSON.stringify(eventId);
    return `${headJson},"result":{"type":"data","id":${id},"data":{"id":${id}${data}}}}`;
  }
}
