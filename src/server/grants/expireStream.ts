import { isObservable, observable } from '@trpc/server/observable';
import type { Observable } from '@trpc/server/observable';
import { grantExpired } from './grantError.js';

/**
 * A subscription's stream that ends with `grant-expired` at `endAtMs` (server clock), for a
 * grant no handler of ours times (stock `applyWSSHandler`, HTTP/SSE): nothing it yields after
 * that moment is passed on, and its source is released. Anything that is neither an async
 * iterable nor an observable is returned as it is.
 */
export function expireStream(stream: unknown, endAtMs: number, path: string): unknown {
  if (isObservable(stream)) return expireObservable(stream as Observable<unknown, unknown>, endAtMs, path);
  if (typeof stream === 'object' && stream !== null && Symbol.asyncIterator in stream) {
    return expireIterable(stream as AsyncIterable<unknown>, endAtMs, path);
  }
  return stream;
}

async function* expireIterable(source: AsyncIterable<unknown>, endAtMs: number, path: string): AsyncGenerator<unknown, void> {
  const iterator = source[Symbol.asyncIterator]();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<'expired'>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, endAtMs - Date.now()), 'expired');
  });
  try {
    for (;;) {
      const step = await Promise.race([iterator.next(), expired]);
      if (step === 'expired' || Date.now() >= endAtMs) throw grantExpired(path);
      if (step.done) return;
      yield step.value;
    }
  } finally {
    clearTimeout(timer);
    void Promise.resolve(iterator.return?.()).catch(() => undefined);
  }
}

function expireObservable(source: Observable<unknown, unknown>, endAtMs: number, path: string): Observable<unknown, unknown> {
  return observable<unknown, unknown>((observer) => {
    const timer = setTimeout(() => {
      subscription.unsubscribe();
      observer.error(grantExpired(path));
    }, Math.max(0, endAtMs - Date.now()));
    const subscription = source.subscribe({
      next: (value) => {
        if (Date.now() < endAtMs) observer.next(value);
      },
      error: (cause) => observer.error(cause),
      complete: () => observer.complete(),
    });
    return () => {
      clearTimeout(timer);
      subscription.unsubscribe();
    };
  });
}
