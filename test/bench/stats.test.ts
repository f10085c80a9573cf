import { describe, expect, it } from 'vitest';
import { measured, median, pairedRatios, percentile, range } from '../../bench/lib/stats.js';

describe('bench statistics', () => {
  it('median takes the middle value of an odd count and the mean of the two middle ones of an even count', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('range is the smallest and largest run, and undefined without runs', () => {
    expect(range([5, 2, 9])).toEqual({ min: 2, max: 9 });
    expect(range([])).toBeUndefined();
  });

  it('percentile is by nearest rank: p99 of 1..1000 is 990, p100 the maximum, p50 of 1..4 is 2', () => {
    const values = Array.from({ length: 1000 }, (_, i) => 1000 - i);
    expect(percentile(values, 99)).toBe(990);
    expect(percentile(values, 100)).toBe(1000);
    expect(percentile([4, 3, 2, 1], 50)).toBe(2);
    expect(percentile([], 50)).toBeNaN();
    expect(() => percentile([1], 0)).toThrow(RangeError);
  });

  it('paired ratios divide run i by run i of the baseline, skipping runs either side lacks', () => {
    expect(pairedRatios([10, undefined, 30, 40], [5, 5, 10, 0])).toEqual([2, 3]);
    expect(pairedRatios([10, 20], [5])).toEqual([2]);
  });

  it('measured keeps the runs that exist, in order', () => {
    expect(measured([undefined, 2, undefined, 1])).toEqual([2, 1]);
  });
});
