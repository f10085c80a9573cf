import { transformResult } from '@trpc/server/unstable-core-do-not-import';
import type { TRPCResponseMessage } from '@trpc/server/rpc';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import type { ResponseMessage } from '../../src/client/calls/call.js';
import { deserializeResponse } from '../../src/client/trpcInternals.js';

const identity = { serialize: (value: unknown) => value, deserialize: (value: unknown) => value };
/** Wraps data on the way in and checks the wrapping on the way out, throwing on anything else. */
const boxing = {
  serialize: (value: unknown) => ({ boxed: value }),
  deserialize: (value: unknown) => {
    if (typeof value !== 'object' || value === null || !('boxed' in value)) throw new Error('not boxed');
    return (value as { boxed: unknown }).boxed;
  },
};

/** What a call of `fn` produced: its value, or the error it threw (class and message). */
function outcome(fn: () => unknown) {
  try {
    const value = fn();
    // Key order too, at every level: each object as its list of entries.
    const order = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'object' && v !== null && !Array.isArray(v) ? Object.entries(v) : v));
    return { value, order };
  } catch (error) {
    return { threw: `${(error as Error).constructor.name}: ${(error as Error).message}` };
  }
}

const resultShape = fc.oneof(
  fc.record({ type: fc.constant('data'), data: fc.jsonValue(), id: fc.option(fc.string(), { nil: undefined }) }, { requiredKeys: ['type'] }),
  fc.record({ data: fc.jsonValue() }),
  fc.record({ data: fc.record({ boxed: fc.jsonValue() }) }),
  fc.record({ type: fc.constantFrom('started', 'stopped', 'state', '', 1, null) }),
  fc.dictionary(fc.constantFrom('type', 'data', 'id', '__proto__', 'extra'), fc.jsonValue()),
  fc.jsonValue(),
);
const message = fc.oneof(
  fc.record({ id: fc.nat(), result: resultShape }),
  fc.record({ id: fc.nat(), error: fc.jsonValue() }),
  fc.record({ id: fc.nat(), error: fc.record({ code: fc.integer(), message: fc.string(), data: fc.jsonValue() }) }),
);

it("gives exactly what tRPC's transformResult gives, value, key order and failure, for any response", () => {
  fc.assert(
    fc.property(message, fc.constantFrom(identity, boxing), (response, output) => {
      // JSON round trip: the client only ever sees parsed frames (own `__proto__` keys included).
      const parsed = JSON.parse(JSON.stringify(response)) as ResponseMessage;
      const ours = outcome(() => deserializeResponse(parsed, { input: identity, output }));
      const theirs = outcome(() => transformResult(parsed as TRPCResponseMessage, output));
      expect(ours).toStrictEqual(theirs);
    }),
    { numRuns: 2_000 },
  );
});
