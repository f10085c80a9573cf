/**
 * Calls user code (an observer, an `on…` option) so that a throw cannot break the client's
 * bookkeeping: with `ws`, a throwing `message` listener would even stop the socket from
 * reading. The error is rethrown on a fresh task, where it still surfaces as uncaught.
 * Takes the argument separately so hot paths do not allocate a closure per call.
 */
export function callSafely<T>(fn: (arg: T) => void, arg: T): void {
  try {
    fn(arg);
  } catch (error) {
    rethrowLater(error);
  }
}

/** Rethrows `error` on a fresh task, where it surfaces as uncaught without unwinding the caller. */
export function rethrowLater(error: unknown): void {
  setTimeout(() => {
    throw error;
  });
}
