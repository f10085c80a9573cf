import { isObservable, observable } from '@trpc/server/observable';
import type { Observable } from '@trpc/server/observable';

/**
 * A subscription's stream that ends when `ending` settles, with the error it resolves to: nothing
 * the source yields after that is passed on, and the source is released (an iterator returned, an
 * observable unsubscribed). For streams no socket of ours carries (stock `applyWSSHandler`,
 * tRPC's HTTP adapters and their SSE). `onDone` runs once when the stream ends, however it ends.
 * Anything that is neither an async iterable nor an observable is returned as it is.
 */
export function endStreamWhen(stream: unknown, ending: Promise<Error>, onDone: () => void = () => {}): unknown {
  if (isObservable(stream)) return endObservable(stream as Observable<unknown, unknown>, ending, onDone);
  if (typeof stream === 'object' && stream !== null && Symbol.asyncIterator in stream) {
    return endIterable(stream as AsyncIterable<unknown>, ending, onDone);
  }
  onDone();
  return stream;
}

async function* endIterable(source: AsyncIterable<unknown>, ending: Promise<Error>, onDone: () => void): AsyncGenerator<unknown, void> {
  const iterator = source[Symbol.asyncIterator]();
  const state: { ended: Error | null } = { ended: null };
  const stop = ending.then((error) => {
    state.ended = error;
    return null;
  });
  try {
    for (;;) {
      const step = await Promise.race([iterator.next(), stop]);
      if (state.ended !== null) throw state.ended; // even when a value won the race in the same turn
      if (step === null || step.done) return;
      yield step.value;
    }
  } finally {
    onDone();
    void Promise.resolve(iterator.return?.()).catch(() => undefined);
  }
}

function endObservable(source: Observable<unknown, unknown>, ending: Promise<Error>, onDone: () => void): Observable<unknown, unknown> {
  return observable<unknown, unknown>((observer) => {
    let ended = false;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      onDone();
    };
    const subscription = source.subscribe({
      next: (value) => {
        if (!ended) observer.next(value);
      },
      error: (cause) => {
        finish();
        observer.error(cause);
      },
      complete: () => {
        finish();
        observer.complete();
      },
    });
    void ending.then((error) => {
      if (done) return;
      ended = true;
      subscription.unsubscribe();
      finish();
      observer.error(error);
    });
    return () => {
      subscription.unsubscribe();
      finish();
    };
  });
}
