/** What the load process asks of a client kind (tRPC clients, raw `ws`, raw protocol). */

/** Called with each fan-out event's `seq`, in arrival order, per subscriber. */
export type OnSeq = (seq: number) => void;

/** Reports a failure that must end the run (the load process's channel). */
export type Fail = (error: unknown) => never;

export interface CallLoop {
  /** Stops issuing calls, waits for the ones in flight, and resolves with the calls answered. */
  stop(timeoutMs: number): Promise<number>;
}

export interface LoadDriver {
  /** Opens one connection and subscribes; resolves once the subscription has started. */
  subscribe(url: string, index: number, procedure: 'onEvent' | 'onStream', onSeq: OnSeq, fail: Fail): Promise<void>;
  /** Opens one connection and keeps `inflight` `echo` calls going; resolves once the first was answered. */
  startCalls(url: string, inflight: number, fail: Fail): Promise<CallLoop>;
  /** Opens a connection with client `index`'s token and resolves after its first call (`me`) was answered. */
  connectAndCall?(url: string, index: number): Promise<void>;
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what()}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
