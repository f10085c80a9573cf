import type { AnyRouter } from '@trpc/server';
import type { ErrorShape, RequestId } from '../protocol/messages.js';
import type { Encoder } from './options.js';
import type { ShareCursor, SharedJson } from './sharedJson.js';
import { JobJsonCache } from './sharedJson.js';

/** A frame ready for `ServerSocket.send`: a string, or the shared UTF-8 bytes of a text frame. */
export type Frame = string | Uint8Array;

/**
 * What one request's frames begin with, computed once per request: with JSON,
 * `{"id":<id>[,"jsonrpc":"2.0"]`. It also carries the request's place in the
 * serialise-once cache ({@link JobJsonCache}).
 */
export interface FrameHead extends ShareCursor {
  readonly id: RequestId;
  readonly jsonrpc: '2.0' | undefined;
  readonly json: string;
}

const utf8 = new TextEncoder();

/**
 * Builds every frame a server sends for requests. With JSON and an identity transformer
 * (no `transformer` on the router), a value's JSON is computed once and shared by every
 * subscription that yields it, and when two sockets get byte-identical frames (same request
 * id, as stock clients' counters often give) they share one encoded buffer: a broadcast is
 * serialised once, not once per subscriber. A *frozen* object is taken to be immutable
 * (including what it references) and its JSON is kept for as long as it lives; any other
 * object or string shares its JSON within one job only, by the rule {@link JobJsonCache}
 * states. With a transformer or an encoder, every frame is serialised on its own.
 */
export class FrameBuilder {
  private readonly serialize: (value: unknown) => unknown;
  /** Whether the transformer returns what it is given; probed at the first data frame, not at creation. */
  private identity: boolean | undefined;
  private readonly frozen = new WeakMap<object, SharedJson>();
  private readonly job = new JobJsonCache();

  constructor(
    router: AnyRouter,
    private readonly encoder: Encoder | undefined,
  ) {
    const transformer = router._def._config.transformer;
    this.serialize = (value) => transformer.output.serialize(value);
  }

  head(id: RequestId, jsonrpc: '2.0' | undefined): FrameHead {
    const json = `{"id":${JSON.stringify(id)}${jsonrpc ? ',"jsonrpc":"2.0"' : ''}`;
    return { id, jsonrpc, json, shareWindow: 0, shareMark: 0 };
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
   * A data frame: the result of a query or mutation. With `eventId` it is a `tracked()`
   * event, sent as tRPC does: `result.id` plus `data: { id, data }`. A frozen value's JSON is
   * shared; anything else is serialised for this frame alone. Throws when the value cannot be
   * serialised.
   */
  data(head: FrameHead, value: unknown, eventId?: string): Frame {
    if (this.encoder || !(this.identity ??= this.probeIdentity())) return this.transformed(head, value, eventId);
    if (typeof value === 'object' && value !== null && Object.isFrozen(value)) {
      return this.sharedFrame(head, this.frozenJson(value), eventId);
    }
    return this.compose(head.json, JSON.stringify(value) as string | undefined, eventId);
  }

  /**
   * A subscription's event, as {@link data} builds it, except that the JSON of any object or
   * string is shared by every subscription that yields it within one job ({@link JobJsonCache}
   * states when it is serialised afresh). Throws when the value cannot be serialised.
   */
  event(head: FrameHead, value: unknown, eventId?: string): Frame {
    if (this.encoder || !(this.identity ??= this.probeIdentity())) return this.transformed(head, value, eventId);
    if (typeof value === 'object' && value !== null) {
      return this.sharedFrame(head, Object.isFrozen(value) ? this.frozenJson(value) : this.job.entry(head, value), eventId);
    }
    if (typeof value === 'string') return this.sharedFrame(head, this.job.entry(head, value), eventId);
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

  private frozenJson(value: object): SharedJson {
    let entry = this.frozen.get(value);
    if (!entry) {
      entry = { json: JSON.stringify(value) as string | undefined, frameHead: null, frameEventId: undefined, frame: null };
      this.frozen.set(value, entry);
    }
    return entry;
  }

  private sharedFrame(head: FrameHead, entry: SharedJson, eventId: string | undefined): Frame {
    if (entry.frame !== null && entry.frameHead === head.json && entry.frameEventId === eventId) {
      if (typeof entry.frame === 'string') entry.frame = utf8.encode(entry.frame);
      return entry.frame;
    }
    const frame = this.compose(head.json, entry.json, eventId);
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
