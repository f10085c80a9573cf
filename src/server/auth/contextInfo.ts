import type { TRPCRequestInfo } from '@trpc/server/http';

/** Where `info.signal` and `info.url` come from, when they are first read. */
export interface ContextInfoSource {
  /** The connection's signal, aborted when it ends. */
  closedSignal(): AbortSignal;
  /** The upgrade request's URL (query-parameter token redacted), parsed now. */
  requestUrl(): URL | null;
}

const sources = new WeakMap<object, ContextInfoSource>();

/** Replaces an accessor with the value it produced (or was given), as a plain data property. */
function settle<T>(info: object, key: 'signal' | 'url', value: T): T {
  Object.defineProperty(info, key, { value, writable: true, enumerable: true, configurable: true });
  return value;
}

const lazyFields: PropertyDescriptorMap = {
  signal: {
    get(this: object) {
      return settle(this, 'signal', sources.get(this)?.closedSignal() ?? null);
    },
    set(this: object, value: unknown) {
      settle(this, 'signal', value);
    },
    enumerable: true,
    configurable: true,
  },
  url: {
    get(this: object) {
      return settle(this, 'url', sources.get(this)?.requestUrl() ?? null);
    },
    set(this: object, value: unknown) {
      settle(this, 'url', value);
    },
    enumerable: true,
    configurable: true,
  },
};

/**
 * `createContext`'s `info`, with stock tRPC's fields. `signal` and `url` are made when first
 * read (then kept on this object, which is the context's to keep or drop): most contexts read
 * neither, and a connection that kept them would hold an `AbortSignal` and a parsed `URL`
 * (about 1 KB together) for its whole life. Both are own enumerable properties: spreading
 * `info` reads them.
 */
export function contextInfo(connectionParams: Record<string, string> | null, source: ContextInfoSource): TRPCRequestInfo {
  const info: Omit<TRPCRequestInfo, 'signal' | 'url'> = { accept: null, type: 'unknown', isBatchCall: false, calls: [], connectionParams };
  sources.set(info, source);
  return Object.defineProperties(info, lazyFields) as unknown as TRPCRequestInfo;
}
