/**
 * The data form of `endSubscriptions` that travels between nodes: which inputs an input pattern
 * matches (without running app code), and which targets and patterns are refused.
 */
import { describe, expect, it } from 'vitest';
import { checkSubscriptionTarget, inputMatches, subscriptionMatches } from '../../src/broker/control/subscriptionTarget.js';

describe('inputMatches', () => {
  it('an object pattern matches an input with each of its properties (others ignored), recursively', () => {
    expect(inputMatches({ docId: 'd1' }, { docId: 'd1' })).toBe(true);
    expect(inputMatches({ docId: 'd1' }, { docId: 'd1', lastEventId: '41', view: 'full' })).toBe(true);
    expect(inputMatches({ doc: { id: 7 } }, { doc: { id: 7, rev: 3 } })).toBe(true);
    expect(inputMatches({ docId: 'd1' }, { docId: 'd2' })).toBe(false);
    expect(inputMatches({ docId: 'd1', view: 'full' }, { docId: 'd1' })).toBe(false);
    expect(inputMatches({}, { anything: 1 })).toBe(true);
    expect(inputMatches({}, [])).toBe(false);
    expect(inputMatches({}, null)).toBe(false);
    expect(inputMatches({ docId: 'd1' }, 'd1')).toBe(false);
  });

  it('arrays match element by element with the same length; primitives only themselves', () => {
    expect(inputMatches([1, { a: 1 }], [1, { a: 1, b: 2 }])).toBe(true);
    expect(inputMatches([1, 2], [1, 2, 3])).toBe(false);
    expect(inputMatches([1, 2], { 0: 1, 1: 2, length: 2 })).toBe(false);
    expect(inputMatches('d1', 'd1')).toBe(true);
    expect(inputMatches(1, '1')).toBe(false);
    expect(inputMatches(null, undefined)).toBe(false);
    expect(inputMatches(null, null)).toBe(true);
    expect(inputMatches(false, 0)).toBe(false);
  });

  it('reads only own properties of the input, and never more than the pattern holds (a cyclic input is fine)', () => {
    const cyclic: Record<string, unknown> = { docId: 'd1' };
    cyclic['self'] = cyclic;
    expect(inputMatches({ docId: 'd1' }, cyclic)).toBe(true);
    expect(inputMatches({ self: { docId: 'd1' } }, cyclic)).toBe(true);
    expect(inputMatches({ toString: 'x' }, {})).toBe(false);
    expect(inputMatches(JSON.parse('{"__proto__":{"polluted":true}}'), {})).toBe(false);
    expect(inputMatches({ docId: 'd1' }, Object.create({ docId: 'd1' }))).toBe(false);
  });

  it('subscriptionMatches: path and input, each only when given', () => {
    const target = checkSubscriptionTarget({ path: 'doc', input: { docId: 'd1' } });
    expect(subscriptionMatches(target, 'doc', { docId: 'd1' })).toBe(true);
    expect(subscriptionMatches(target, 'other', { docId: 'd1' })).toBe(false);
    expect(subscriptionMatches(checkSubscriptionTarget({ key: 'user:1' }), 'any', undefined)).toBe(true);
    expect(subscriptionMatches(checkSubscriptionTarget({ path: 'doc', input: null }), 'doc', undefined)).toBe(false);
  });
});

describe('checkSubscriptionTarget', () => {
  it('copies the input as plain JSON, undefined properties dropped', () => {
    const input = { docId: 'd1', cursor: undefined, tags: ['a'] };
    const checked = checkSubscriptionTarget({ key: 'user:1', path: 'doc', input });
    expect(checked).toEqual({ key: 'user:1', path: 'doc', input: { docId: 'd1', tags: ['a'] } });
    expect(checked.input).not.toBe(input);
    expect(checkSubscriptionTarget({ path: 'doc' })).toEqual({ path: 'doc' });
    expect(checkSubscriptionTarget({ path: 'doc', input: Object.assign(Object.create(null) as object, { a: 1 }) })).toEqual({ path: 'doc', input: { a: 1 } });
  });

  it('refuses, naming the part, what is not JSON or nests too deep; and targets without key and path', () => {
    class Doc {
      id = 1;
    }
    expect(() => checkSubscriptionTarget({ path: 'doc', input: { doc: new Doc() } })).toThrow(/input\.doc must be a JSON value/);
    expect(() => checkSubscriptionTarget({ path: 'doc', input: { ids: [1, Infinity] } })).toThrow(/input\.ids\[1\]/);
    expect(() => checkSubscriptionTarget({ path: 'doc', input: () => 1 })).toThrow(TypeError);
    expect(() => checkSubscriptionTarget({ path: 'doc', input: new Map() })).toThrow(TypeError);
    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) deep = { deep };
    expect(() => checkSubscriptionTarget({ path: 'doc', input: deep })).toThrow(/nests deeper than 32/);
    expect(() => checkSubscriptionTarget({ input: { docId: 'd1' } })).toThrow(/needs a key or a path/);
    expect(() => checkSubscriptionTarget({ path: '' })).toThrow(/path must be a non-empty string/);
    expect(() => checkSubscriptionTarget({ key: 42 } as never)).toThrow(/key must be a non-empty string/);
    expect(() => checkSubscriptionTarget(null as never)).toThrow(TypeError);
  });
});
