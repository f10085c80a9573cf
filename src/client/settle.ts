import { isPromiseLike } from './options.js';

/**
 * Runs `produce` and hands its outcome to `onValue` or `onError`: synchronously when it returns
 * a value or throws, once settled when it returns a promise. For user callbacks (`url`,
 * `connectionParams`) that may be values, sync functions or async functions.
 */
export function settle<T>(produce: () => T | PromiseLike<T>, onValue: (value: T) => void, onError: (error: unknown) => void): void {
  let value: T | PromiseLike<T>;
  try {
    value = produce();
  } catch (error) {
    onError(error);
    return;
  }
  if (isPromiseLike(value)) value.then(onValue, onError);
  else onValue(value);
}
