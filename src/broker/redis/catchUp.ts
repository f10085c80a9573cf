import type { RedisDriver } from './client.js';
import type { ChannelKeys } from './keys.js';
import { catchUpScript } from './scripts.js';

/** One stored entry of a channel's stream. */
export interface StreamEntry {
  readonly offset: number;
  readonly payload: string;
}

/** A channel's position and the entries read after an offset (see `catchUpScript`). */
export interface CatchUp {
  readonly epoch: string;
  readonly top: number;
  readonly entries: readonly StreamEntry[];
}

/** Runs the catch-up script and checks the shape of its answer. */
export async function readCatchUp(
  driver: RedisDriver,
  keys: ChannelKeys,
  since: number,
  recoveryLimit: number,
  newEpoch: string,
  metaTtlMs: number,
): Promise<CatchUp> {
  const reply = await driver.runScript(
    catchUpScript,
    [keys.meta, keys.stream],
    [String(since), String(recoveryLimit), newEpoch, String(metaTtlMs)],
  );
  if (!Array.isArray(reply) || reply.length !== 3) throw new Error('trpc-lanyard/broker: unexpected catch-up reply');
  const [epoch, top, rows] = reply as [unknown, unknown, unknown];
  if (typeof epoch !== 'string' || !Array.isArray(rows)) throw new Error('trpc-lanyard/broker: unexpected catch-up reply');
  const entries: StreamEntry[] = [];
  for (const row of rows as unknown[]) entries.push(parseEntry(row));
  return { epoch, top: Number(top), entries };
}

function parseEntry(row: unknown): StreamEntry {
  if (Array.isArray(row)) {
    const [id, fields] = row as [unknown, unknown];
    const payload = Array.isArray(fields) ? (fields as unknown[])[1] : undefined;
    if (typeof id === 'string' && typeof payload === 'string') {
      return { offset: Number(id.slice(0, id.indexOf('-'))), payload };
    }
  }
  throw new Error('trpc-lanyard/broker: unexpected stream entry');
}
