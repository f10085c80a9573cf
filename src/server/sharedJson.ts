import type { Frame } from './frames.js';

/** One value's JSON, shared by every frame built from it while it is valid. */
export interface SharedJson {
  /** The JSON of the value, or undefined when it serialises to nothing. */
  json: string | undefined;
  /**
   * The last frame built from it and what it was built for. A frame is a string until a second
   * socket needs the very same bytes (same request id, as stock clients' counters often give);
   * then it is encoded once and the bytes are shared.
   */
  frameHead: string | null;
  frameEventId: string | undefined;
  frame: Frame | null;
}

/**
 * What the cache notes on each request's frame head: in which job window its frames last took
 * shared JSON, and the newest entry they took in it.
 */
export interface ShareCursor {
  shareWindow: number;
  shareMark: number;
}

interface JobEntry extends SharedJson {
  /** Order of the value's first entry in this window (kept when the JSON is refreshed). */
  readonly serial: number;
  /** What the value held when `json` was made ({@link shapeOf}); null for a string. */
  shape: unknown[] | null;
}

/**
 * Serialises a value once for every subscription that yields it within one **job**: the
 * callback that published it and the promise jobs that follow (the cache is emptied by a
 * `process.nextTick`, which runs once those have). An event emitted to 1,000 subscribers is
 * serialised once, whatever its shape, not 1,000 times. What keeps it from sending JSON the
 * value no longer matches:
 *
 * - Before its JSON is reused, the value is compared with what it held when it was serialised:
 *   every enumerable property at every depth (every element of an array), primitives by value,
 *   objects by identity. Any difference, made by anyone, and it is serialised afresh. The
 *   comparison costs a fraction of what `JSON.stringify` does.
 * - A subscription that yields the same object a second time in one job gets it
 *   serialised afresh whatever the comparison says: `yield state; state.n++; yield state`
 *   sends both values.
 * - The comparison cannot see state that only a `toJSON` reads (a `Date` changed with
 *   `setTime`, a class's private fields): within the job in which other subscriptions
 *   deliver it, replace such a value instead of changing it in place.
 *
 * Equal strings share their JSON (strings cannot change). Frozen objects are not kept here;
 * the {@link FrameBuilder} keeps their JSON for as long as they live.
 */
export class JobJsonCache {
  private readonly entries = new Map<object | string, JobEntry>();
  private window = 1;
  private serial = 0;
  private clearing = false;

  /** The shared JSON of `value` that the frames of `cursor`'s subscription may use now. Throws when `value` cannot be serialised. */
  entry(cursor: ShareCursor, value: object | string): SharedJson {
    if (cursor.shareWindow !== this.window) {
      cursor.shareWindow = this.window;
      cursor.shareMark = 0;
    }
    let entry = this.entries.get(value);
    if (entry === undefined) {
      const json = JSON.stringify(value) as string | undefined;
      entry = { serial: ++this.serial, json, shape: shapeOf(value), frameHead: null, frameEventId: undefined, frame: null };
      this.entries.set(value, entry);
      if (!this.clearing) {
        this.clearing = true;
        process.nextTick(this.clear);
      }
    } else if (typeof value !== 'string' && (entry.serial <= cursor.shareMark || !unchanged(entry.shape, value))) {
      // Changed since, or already yielded by this subscription in this job (or a later value was): serialise afresh.
      this.refresh(entry, value);
    }
    if (entry.serial > cursor.shareMark) cursor.shareMark = entry.serial;
    return entry;
  }

  private refresh(entry: JobEntry, value: object): void {
    let json: string | undefined;
    try {
      json = JSON.stringify(value) as string | undefined;
    } catch (cause) {
      this.entries.delete(value);
      throw cause;
    }
    entry.json = json;
    entry.shape = shapeOf(value);
    entry.frameHead = null;
    entry.frame = null;
  }

  private readonly clear = (): void => {
    this.entries.clear();
    this.window++;
    this.clearing = false;
  };
}

/** Ends an object's entries in a shape. */
const END = Symbol('end');

/**
 * What a value holds, flat: for an object each enumerable key and its value, then {@link END};
 * for an array its length and each element; an object or array met as a value is followed by
 * its own shape. Only called on values `JSON.stringify` accepted, so there is no cycle.
 */
function shapeOf(value: object | string): unknown[] | null {
  if (typeof value === 'string') return null;
  const shape: unknown[] = [];
  walk(value, shape);
  return shape;
}

function walk(value: object, shape: unknown[]): void {
  if (Array.isArray(value)) {
    const items = value as unknown[];
    shape.push(items.length);
    for (let index = 0; index < items.length; index++) {
      const item = items[index];
      shape.push(item);
      if (typeof item === 'object' && item !== null) walk(item, shape);
    }
    return;
  }
  for (const key in value) {
    const item = (value as Record<string, unknown>)[key];
    shape.push(key, item);
    if (typeof item === 'object' && item !== null) walk(item, shape);
  }
  shape.push(END);
}

function unchanged(shape: unknown[] | null, value: object): boolean {
  return shape !== null && matches(value, shape, 0) === shape.length;
}

/** Where `value`'s shape ends in `shape` when it starts at `at` and matches; -1 when it does not. */
function matches(value: object, shape: unknown[], at: number): number {
  let i = at;
  if (Array.isArray(value)) {
    const items = value as unknown[];
    if (shape[i++] !== items.length) return -1;
    for (let index = 0; index < items.length; index++) {
      const item = items[index];
      if (shape[i++] !== item) return -1;
      if (typeof item === 'object' && item !== null) {
        i = matches(item, shape, i);
        if (i < 0) return -1;
      }
    }
    return i;
  }
  for (const key in value) {
    const item = (value as Record<string, unknown>)[key];
    if (shape[i] !== key || shape[i + 1] !== item) return -1;
    i += 2;
    if (typeof item === 'object' && item !== null) {
      i = matches(item, shape, i);
      if (i < 0) return -1;
    }
  }
  return shape[i] === END ? i + 1 : -1;
}
