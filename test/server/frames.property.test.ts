/**
 * Serialising once changes no byte: whatever values, ids and changes in between, every data frame
 * is what serialising tRPC's message at that moment gives (what the server sent before values
 * were shared, and what stock tRPC sends).
 */
import { initTRPC } from '@trpc/server';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Frame, FrameHead } from '../../src/server/frames.js';
import { FrameBuilder } from '../../src/server/frames.js';

const text = new TextDecoder();
const decode = (frame: Frame) => (typeof frame === 'string' ? frame : text.decode(frame));

/** tRPC's data message for `value`, serialised now. */
function expected(head: FrameHead, value: unknown, eventId: string | undefined): string {
  const result = eventId === undefined ? { type: 'data', data: value } : { type: 'data', id: eventId, data: { id: eventId, data: value } };
  return JSON.stringify({ id: head.id, jsonrpc: head.jsonrpc, result });
}

type Json = ReturnType<typeof JSON.parse>;

/** Every object and array inside `value` (itself included), where a change can be made. */
function containers(value: Json, into: Array<Record<string, Json> | Json[]> = []): Array<Record<string, Json> | Json[]> {
  if (typeof value !== 'object' || value === null) return into;
  into.push(value as Record<string, Json> | Json[]);
  for (const item of Object.values(value as object)) containers(item, into);
  return into;
}

const json = fc.jsonValue({ maxDepth: 2, depthSize: 'small' });
const step = fc.oneof(
  fc.record({ kind: fc.constant('event' as const), head: fc.nat(2), value: fc.nat(3), eventId: fc.option(fc.constantFrom('1', '2', 'x'), { nil: undefined }) }),
  fc.record({ kind: fc.constant('data' as const), head: fc.nat(2), value: fc.nat(3) }),
  fc.record({ kind: fc.constant('change' as const), value: fc.nat(1), where: fc.nat(), key: fc.string({ maxLength: 2 }), to: json }),
  fc.record({ kind: fc.constant('remove' as const), value: fc.nat(1), where: fc.nat(), key: fc.nat() }),
);

describe('shared JSON gives the same bytes as serialising each frame', () => {
  it('holds for any values, request ids and changes between the frames of one job', () => {
    const router = initTRPC.create().router({});
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer(), fc.string()), { minLength: 3, maxLength: 3 }),
        fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
        // An object and an array that steps change, a string, and a frozen object nobody changes.
        fc.tuple(fc.object({ maxDepth: 2, maxKeys: 4, values: [json] }), fc.array(json, { maxLength: 4 }), fc.string(), fc.object({ maxDepth: 2, maxKeys: 4 })),
        fc.array(step, { maxLength: 40 }),
        (ids, jsonrpc, generated, steps) => {
          // The steps change the values in place: a copy, so that fast-check's own stay as generated.
          const [object, array, string, frozen] = structuredClone(generated);
          const frames = new FrameBuilder(router, undefined);
          // Ids repeat across heads on purpose: byte-identical frames share one buffer.
          const heads = ids.map((id, i) => frames.head(i % 2 ? id : (ids[0] as number | string), jsonrpc[i] ? '2.0' : undefined));
          const values: Json[] = [object, array, string, Object.freeze(frozen)];
          for (const op of steps) {
            const value = values[op.value];
            if (op.kind === 'event' || op.kind === 'data') {
              const head = heads[op.head]!;
              const eventId = op.kind === 'event' ? op.eventId : undefined;
              const frame = op.kind === 'event' ? frames.event(head, value, eventId) : frames.data(head, value);
              expect(decode(frame)).toBe(expected(head, value, eventId));
              continue;
            }
            const targets = containers(value);
            if (targets.length === 0) continue;
            const target = targets[op.where % targets.length]!;
            if (op.kind === 'change') {
              if (Array.isArray(target)) target.push(structuredClone(op.to));
              else target[op.key] = structuredClone(op.to);
            } else if (Array.isArray(target)) {
              target.splice(op.key % (target.length + 1), 1);
            } else {
              const keys = Object.keys(target);
              if (keys.length > 0) delete target[keys[op.key % keys.length]!];
            }
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
