import { TRPCError } from '@trpc/server';

/**
 * Runs one of the app's hooks (`verify`, `authenticate`) with a deadline: `run` gets a signal that
 * aborts when `parent` does or `timeoutMs` passes, and a hook still running then is answered with
 * `TIMEOUT` (`what` names it in the message) while the server stops waiting for it. A synchronous
 * throw is a rejection like any other.
 */
export async function withinDeadline<T>(what: string, timeoutMs: number, run: (signal: AbortSignal) => T | Promise<T>, parent?: AbortSignal): Promise<T> {
  const deadline = new AbortController();
  const signal = parent === undefined ? deadline.signal : AbortSignal.any([parent, deadline.signal]);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      deadline.abort();
      reject(new TRPCError({ code: 'TIMEOUT', message: `${what} did not answer within ${timeoutMs} ms` }));
    }, timeoutMs);
  });
  try {
    return await Promise.race([Promise.resolve().then(() => run(signal)), late]);
  } finally {
    clearTimeout(timer);
  }
}
