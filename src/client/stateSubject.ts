import type { BehaviorSubject, Observer } from '@trpc/server/observable';
import { observable } from '@trpc/server/observable';
import { callSafely } from './userCallback.js';

/** A {@link BehaviorSubject} whose value can also change without telling subscribers. */
export interface StateSubject<T> extends BehaviorSubject<T> {
  /** Sets the value `get()` and new subscribers see, without emitting it. */
  setQuietly(value: T): void;
}

/**
 * A behaviour subject like tRPC's own (a new subscriber gets the current value at once, `next`
 * emits a changed value, a throwing subscriber does not stop the others), plus
 * {@link StateSubject.setQuietly}.
 */
export function stateSubject<T>(initial: T): StateSubject<T> {
  let value = initial;
  const observers = new Set<Observer<T, never>>();
  const source = observable<T, never>((observer) => {
    observer.next(value);
    observers.add(observer);
    return () => observers.delete(observer);
  });
  return Object.assign(source, {
    observable: source,
    get: () => value,
    setQuietly: (next: T) => {
      value = next;
    },
    next: (next: T) => {
      if (next === value) return;
      value = next;
      for (const observer of [...observers]) if (observers.has(observer)) callSafely(observer.next, next);
    },
  });
}
