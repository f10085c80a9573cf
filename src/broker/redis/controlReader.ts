import type { ControlEnvelope, ControlNode } from '../control/types.js';
import type { RedisDriver } from './client.js';
import { decodeEnvelope, encodeReply } from './controlCodec.js';
import type { ControlKeys } from './keys.js';
import { controlClockScript } from './scripts.js';

/** Entries one read takes; a full read is followed at once by the next. */
export const CONTROL_READ_COUNT = 100;

export interface ReaderContext {
  readonly driver: RedisDriver;
  readonly keys: ControlKeys;
  /** The pub/sub connection is up: a resync waits for both connections. */
  pubsubUp(): boolean;
}

/** The largest sequence number of a stream id. */
const MAX_SEQ = 0xffffffffffffffffn;

/** The id right after `id` (`ms-seq`), where an inclusive XRANGE starts so that `id` itself is not read again. */
export function nextStreamId(id: string): string {
  const [ms = '0', seq = '0'] = id.split('-');
  const next = BigInt(seq) + 1n;
  return next > MAX_SEQ ? `${BigInt(ms) + 1n}-0` : `${ms}-${next}`;
}

/**
 * Where a node that joined `sinceJoinMs` ago starts reading: right before the first id Redis could have given
 * an entry posted after the join. Redis's clock now (on the log's node) less the time since the join, as the
 * node measured it (monotonic), is at or before Redis's clock at the join, whatever the node's clock says.
 */
async function startAfter(ctx: ReaderContext, joinedAt: number): Promise<string> {
  const reply = await ctx.driver.runScript(controlClockScript, [ctx.keys.log], []);
  const redisNowMs = Number(reply);
  if (!Number.isSafeInteger(redisNowMs)) throw new Error('trpc-lanyard/broker: unexpected clock reply');
  const atJoinMs = redisNowMs - Math.ceil(performance.now() - joinedAt);
  return atJoinMs > 0 ? `${atJoinMs - 1}-${MAX_SEQ}` : '0-0';
}

/** A log entry: its id, and its envelope (null when malformed: skipped). */
interface Entry {
  readonly id: string;
  readonly envelope: ControlEnvelope | null;
}

function parseEntries(reply: unknown): Entry[] {
  if (!Array.isArray(reply)) throw new Error('trpc-lanyard/broker: unexpected XRANGE reply');
  const entries: Entry[] = [];
  for (const row of reply as unknown[]) {
    if (!Array.isArray(row) || typeof row[0] !== 'string') continue;
    const fields: unknown = row[1];
    let envelope: ControlEnvelope | null = null;
    if (Array.isArray(fields)) {
      for (let i = 0; i + 1 < fields.length; i += 2) {
        const value: unknown = fields[i + 1];
        if (fields[i] === 'e' && typeof value === 'string') envelope = decodeEnvelope(value);
      }
    }
    entries.push({ id: row[0], envelope });
  }
  return entries;
}

/**
 * One node's reader of the control log, with its remembered position (the id of the last entry it handled).
 *
 * Start (the join race): the first read starts at Redis's clock at the join, measured on Redis (see
 * `startAfter`), so a command posted right after `join` returned is delivered, whichever connection posted it
 * and however slow this node's link, or if Redis was unreachable at the join (the start is then found when it
 * is back). Entries ids are made from that clock too, so nodes' clocks play no part. The price: a command
 * posted within one round trip before the join may be applied too.
 *
 * Reads are serialised (a wake during a read makes one more read), each takes up to
 * {@link CONTROL_READ_COUNT} entries, in order; each entry is applied once (not by the node that already
 * applied it itself) and its reply published to the poster. A read that fails, or Redis not connected, marks
 * the reader lost: the position stays, the next poll reads again, and once a read succeeds with the pub/sub
 * connection up the node is told `resynced()` (once per loss).
 */
export class ControlReader {
  readonly node: ControlNode;
  readonly #ctx: ReaderContext;
  /** `performance.now()` at the join. */
  readonly #joinedAt: number;
  #position: string | null = null;
  #reading = false;
  #again = false;
  #lost = false;
  /** Whether a read has found both connections up yet: only a drop after that is a loss (not the first connect). */
  #wasUp = false;
  #stopped = false;

  constructor(ctx: ReaderContext, node: ControlNode) {
    this.#ctx = ctx;
    this.node = node;
    this.#joinedAt = performance.now();
  }

  /** A connection dropped: commands may arrive late, and the node is told `resynced()` once reads work again. */
  markLost(): void {
    this.#lost = true;
  }

  /** Reads what is new, now or right after the read running. */
  schedule(): void {
    if (this.#stopped) return;
    if (this.#reading) {
      this.#again = true;
      return;
    }
    void this.#run();
  }

  stop(): void {
    this.#stopped = true;
  }

  async #run(): Promise<void> {
    this.#reading = true;
    try {
      do {
        this.#again = false;
        await this.#readAll();
      } while (this.#again && !this.#stopped);
    } finally {
      this.#reading = false;
    }
  }

  async #readAll(): Promise<void> {
    const { driver, keys } = this.#ctx;
    if (!driver.ready()) {
      this.#lost ||= this.#wasUp;
      return;
    }
    try {
      this.#position ??= await startAfter(this.#ctx, this.#joinedAt);
      for (;;) {
        const reply = await driver.command(['XRANGE', keys.log, nextStreamId(this.#position), '+', 'COUNT', String(CONTROL_READ_COUNT)], keys.log);
        const entries = parseEntries(reply);
        for (const entry of entries) {
          if (this.#stopped) return;
          this.#position = entry.id;
          if (entry.envelope !== null) this.#apply(entry.envelope);
        }
        if (entries.length < CONTROL_READ_COUNT) break;
      }
    } catch {
      this.#lost = true;
      return;
    }
    // While the pub/sub connection is down wakes are missed, whether or not the driver later reports
    // the reconnect: a drop noticed here counts as a loss too (its first connect does not).
    if (!this.#ctx.pubsubUp()) {
      this.#lost ||= this.#wasUp;
      return;
    }
    this.#wasUp = true;
    if (this.#lost && !this.#stopped) {
      this.#lost = false;
      try {
        this.node.resynced();
      } catch {
        // a node's resync is its own business; the reader goes on
      }
    }
  }

  #apply(envelope: ControlEnvelope): void {
    if (envelope.appliedBy === this.node.id) return;
    let affected = 0;
    try {
      affected = this.node.apply(envelope);
    } catch {
      // apply never throws by contract; if it does, the poster still hears that nothing was affected
    }
    const reply = encodeReply({ id: envelope.id, node: this.node.id, affected });
    this.#ctx.driver.command(['PUBLISH', this.#ctx.keys.replies(envelope.from), reply]).catch(() => {});
  }
}
