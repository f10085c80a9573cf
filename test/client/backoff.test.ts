import { describe, expect, it } from 'vitest';
import { backoffDefaults, fullJitterBackoff } from '../../src/client/index.js';

describe('fullJitterBackoff', () => {
  it('retries the first attempt immediately', () => {
    expect(fullJitterBackoff({}, () => 0.999)(0)).toBe(0);
  });

  it('draws each delay from [0, baseMs · 2^attempt)', () => {
    const highest = fullJitterBackoff({ baseMs: 100, capMs: 1e9 }, () => 0.999_999);
    const lowest = fullJitterBackoff({ baseMs: 100, capMs: 1e9 }, () => 0);
    for (const attempt of [1, 2, 3, 4, 5]) {
      expect(highest(attempt)).toBe(100 * 2 ** attempt - 1);
      expect(lowest(attempt)).toBe(0);
    }
  });

  it('never waits longer than capMs, however many attempts failed', () => {
    const delay = fullJitterBackoff({ baseMs: 1_000, capMs: 30_000 }, () => 0.999_999);
    expect(delay(5)).toBe(29_999);
    expect(delay(60)).toBe(29_999);
    expect(delay(5_000)).toBe(29_999); // 2^5000 overflows to Infinity; the cap still holds
  });

  it('spreads delays over the whole window (full jitter, not a fixed step)', () => {
    const delay = fullJitterBackoff(); // Math.random
    const samples = Array.from({ length: 2_000 }, () => delay(3)); // window [0, 8000)
    expect(Math.min(...samples)).toBeLessThan(800);
    expect(Math.max(...samples)).toBeGreaterThan(7_200);
    expect(Math.max(...samples)).toBeLessThan(8_000);
    expect(new Set(samples).size).toBeGreaterThan(1_000);
  });

  it('uses backoffDefaults when given no options', () => {
    expect(backoffDefaults).toEqual({ baseMs: 1_000, capMs: 30_000 });
    const delay = fullJitterBackoff(undefined, () => 0.5);
    expect(delay(1)).toBe(1_000);
    expect(delay(10)).toBe(15_000);
  });
});
