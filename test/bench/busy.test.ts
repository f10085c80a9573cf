import { describe, expect, it } from 'vitest';
import { defaultBusyThresholds, disturbance, judgeBench, judgePreflight, judgeRun } from '../../bench/lib/busy.js';

const quiet = { busy: false, reasons: [] };
const busy = { busy: true, reasons: ['others 50%'] };

describe('busy-machine detection', () => {
  it("counts other processes' CPU as machine busy time minus the bench's own, as a share of all cores", () => {
    const from = { total: 1000, busy: 100, steal: 0 };
    const to = { total: 1400, busy: 400, steal: 8 };
    // 400 ticks of all cores passed; 300 busy, 260 of them ours: others 40 / 400.
    const result = disturbance(from, to, 260);
    expect(result?.others).toBeCloseTo(0.1);
    expect(result?.steal).toBeCloseTo(0.02);
    expect(disturbance(to, to, 0)).toBeUndefined();
    // Our own ticks read a little late can exceed the machine's: never below zero.
    expect(disturbance(from, to, 400)?.others).toBe(0);
  });

  it('marks a run when others took more than the threshold, and not at or below it', () => {
    const run = (others: number) => judgeRun({ disturbance: { others, steal: 0 }, calibrationMs: [20, 20] }, 20);
    expect(run(defaultBusyThresholds.othersShare + 0.01)).toEqual({ busy: true, reasons: ['others 11%'] });
    expect(run(defaultBusyThresholds.othersShare).busy).toBe(false);
  });

  it('marks a run whose calibration loop, before or after, was slower than the fastest by more than the threshold', () => {
    const calibrated = (after: number) => judgeRun({ disturbance: undefined, calibrationMs: [20, after] }, 20);
    expect(calibrated(26).busy).toBe(true);
    expect(calibrated(26).reasons[0]).toMatch(/calibration 1\.30× slower/);
    expect(calibrated(24).busy).toBe(false);
  });

  it('marks steal above its threshold', () => {
    expect(judgeRun({ disturbance: { others: 0, steal: 0.2 }, calibrationMs: [20] }, 20).reasons).toEqual(['steal 20%']);
  });

  it('calls the machine busy before the bench on a busy idle sample, or on a high load average when there is no sample', () => {
    expect(judgePreflight({ others: 0.01, steal: 0 }, 0.4, 2).busy).toBe(false);
    expect(judgePreflight({ others: 0.3, steal: 0 }, 0.2, 2).busy).toBe(true);
    expect(judgePreflight(undefined, 1.5, 2).reasons).toEqual(['load average 1.50 on 2 cores']);
    expect(judgePreflight(undefined, 0.4, 2).busy).toBe(false);
  });

  it('trusts a quiet idle sample over a load average that still counts work that has ended', () => {
    expect(judgePreflight({ others: 0.01, steal: 0 }, 2.3, 2).busy).toBe(false);
  });

  it('calls the whole bench too busy when a third of its runs were marked, or the machine was busy before it', () => {
    expect(judgeBench(quiet, [busy, quiet, quiet])).toEqual({ tooBusy: true, marked: 1 });
    expect(judgeBench(quiet, [busy, quiet, quiet, quiet])).toEqual({ tooBusy: false, marked: 1 });
    expect(judgeBench(busy, [quiet]).tooBusy).toBe(true);
    expect(judgeBench(quiet, []).tooBusy).toBe(false);
  });
});
