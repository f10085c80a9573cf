import { endStreamWhen } from '../streamEnd.js';
import { grantExpired } from './grantError.js';

/**
 * A subscription's stream that ends with `grant-expired` at `endAtMs` (server clock), for a
 * grant no handler of ours times (stock `applyWSSHandler`, HTTP/SSE): nothing it yields after
 * that moment is passed on, and its source is released. Anything that is neither an async
 * iterable nor an observable is returned as it is.
 */
export function expireStream(stream: unknown, endAtMs: number, path: string): unknown {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<Error>((resolve) => {
    timer = setTimeout(() => resolve(grantExpired(path)), Math.max(0, endAtMs - Date.now()));
  });
  return endStreamWhen(stream, expired, () => clearTimeout(timer));
}
