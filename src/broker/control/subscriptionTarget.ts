import type { TRPC_ERROR_CODE_KEY } from '@trpc/server';
import { TRPC_ERROR_CODES_BY_KEY } from '@trpc/server/rpc';

/**
 * `endSubscriptions` across nodes: which subscriptions a command ends, and with what error. A
 * function cannot travel between nodes, so the target is data: a session key, a path and an input
 * pattern, matched on every node without running app code.
 */

/** The subscriptions `endSubscriptions({ … })` ends on every node: those matching every field given (at least `key` or `path`). */
export interface SubscriptionTarget {
  /** Only the subscriptions of sessions with this key among their `sessionKeys` (needs `sessionKeys`). @default any session */
  readonly key?: string;
  /** Only the subscriptions at this procedure path, e.g. `'doc.watch'`. @default any path */
  readonly path?: string;
  /**
   * Only the subscriptions whose input (as the client sent it: after the router's transformer,
   * before the procedure's parsers, without the `lastEventId` a client adds on resume) contains
   * this JSON pattern: an object matches an object that has each of its properties with a
   * matching value (other properties are ignored; `undefined` properties count as absent); an
   * array matches an array of the same length, element by element; `null`, booleans, numbers and
   * strings match only themselves. Anything else (a Date, a Map, a class instance, a BigInt, a
   * non-finite number) is refused with a TypeError.
   * @default any input
   */
  readonly input?: unknown;
}

/** What `endSubscriptions` sends the client: the error the subscription ends with. */
export interface EndSubscriptionsOptions {
  /** The tRPC error code the client sees (`error.data.code`). @default 'FORBIDDEN' */
  code?: TRPC_ERROR_CODE_KEY;
  /** The error's message. @default 'subscription ended by the server' */
  reason?: string;
}

/** The defaults of {@link EndSubscriptionsOptions}. */
export const endSubscriptionsDefaults = {
  code: 'FORBIDDEN',
  reason: 'subscription ended by the server',
} as const satisfies Required<EndSubscriptionsOptions>;

/** A checked {@link EndSubscriptionsOptions}. */
export interface SubscriptionEnding {
  readonly code: TRPC_ERROR_CODE_KEY;
  readonly reason: string;
}

/** A checked {@link SubscriptionTarget}: `input` is a plain JSON value, or absent for any input. */
export interface CheckedSubscriptionTarget {
  readonly key?: string;
  readonly path?: string;
  readonly input?: unknown;
}

/** How deep an input pattern may nest (deeper is refused; it also stops a cyclic one). */
const MAX_PATTERN_DEPTH = 32;

/** Whether `code` is one of tRPC's error codes. */
export function isErrorCode(code: unknown): code is TRPC_ERROR_CODE_KEY {
  return typeof code === 'string' && Object.hasOwn(TRPC_ERROR_CODES_BY_KEY, code);
}

/** The options with their defaults; a TypeError for a code tRPC does not know or a reason that is not a string. */
export function checkEnding(options: EndSubscriptionsOptions | undefined): SubscriptionEnding {
  const code = options?.code ?? endSubscriptionsDefaults.code;
  const reason = options?.reason ?? endSubscriptionsDefaults.reason;
  if (!isErrorCode(code)) throw new TypeError(`trpc-lanyard: endSubscriptions code must be a tRPC error code, got ${String(code)}`);
  if (typeof reason !== 'string') throw new TypeError('trpc-lanyard: endSubscriptions reason must be a string');
  return { code, reason };
}

/** The target checked, its `input` copied as plain JSON; a TypeError names what is wrong. */
export function checkSubscriptionTarget(target: SubscriptionTarget): CheckedSubscriptionTarget {
  if (typeof target !== 'object' || target === null) throw new TypeError('trpc-lanyard: an endSubscriptions target is { key?, path?, input? }');
  const { key, path, input } = target;
  if (key !== undefined && (typeof key !== 'string' || key.length === 0)) throw new TypeError('trpc-lanyard: endSubscriptions key must be a non-empty string');
  if (path !== undefined && (typeof path !== 'string' || path.length === 0)) throw new TypeError('trpc-lanyard: endSubscriptions path must be a non-empty string');
  if (key === undefined && path === undefined) {
    throw new TypeError('trpc-lanyard: endSubscriptions({ … }) needs a key or a path (to end every subscription, pass a filter function)');
  }
  return {
    ...(key === undefined ? {} : { key }),
    ...(path === undefined ? {} : { path }),
    ...(input === undefined ? {} : { input: jsonPattern(input, 'input', 0) }),
  };
}

/** A copy of `value` as plain JSON, or a TypeError naming the first part that is not. */
function jsonPattern(value: unknown, at: string, depth: number): unknown {
  if (depth > MAX_PATTERN_DEPTH) throw new TypeError(`trpc-lanyard: endSubscriptions ${at} nests deeper than ${MAX_PATTERN_DEPTH}`);
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (Array.isArray(value)) return value.map((item, index) => jsonPattern(item, `${at}[${index}]`, depth + 1));
  if (typeof value === 'object') {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto === Object.prototype || proto === null) {
      const copy: Record<string, unknown> = {};
      for (const [name, item] of Object.entries(value)) {
        if (item !== undefined) copy[name] = jsonPattern(item, `${at}.${name}`, depth + 1);
      }
      return copy;
    }
  }
  throw new TypeError(`trpc-lanyard: endSubscriptions ${at} must be a JSON value (null, boolean, finite number, string, array or plain object)`);
}

/**
 * Whether `input` contains `pattern` (a checked JSON value, see {@link SubscriptionTarget.input}).
 * The walk follows the pattern, so its cost is bounded by the pattern's size, whatever the input.
 */
export function inputMatches(pattern: unknown, input: unknown): boolean {
  if (typeof pattern !== 'object' || pattern === null) return pattern === input;
  if (Array.isArray(pattern)) {
    return Array.isArray(input) && input.length === pattern.length && pattern.every((item, index) => inputMatches(item, input[index]));
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return false;
  for (const [name, item] of Object.entries(pattern)) {
    if (!Object.hasOwn(input, name) || !inputMatches(item, (input as Record<string, unknown>)[name])) return false;
  }
  return true;
}

/** Whether a subscription at `path` with `input` is one `target` names (its session already matched). */
export function subscriptionMatches(target: CheckedSubscriptionTarget, path: string, input: unknown): boolean {
  if (target.path !== undefined && target.path !== path) return false;
  return target.input === undefined || inputMatches(target.input, input);
}
