/**
 * Whether the machine was too busy for a measurement to mean anything. Pure functions over
 * counters read elsewhere (lib/machine.ts), unit-tested in test/bench/busy.test.ts.
 *
 * Two independent signals, both taken by the orchestrator:
 * - **others**: machine-wide busy CPU time (`/proc/stat`) during a run, minus the CPU time the
 *   bench's own processes used, as a share of all cores; plus hypervisor steal.
 * - **calibration**: a fixed CPU-bound loop timed before and after each run. Slower than the
 *   fastest seen in this bench by more than a threshold means a core was not ours to use.
 */

/** Machine-wide CPU counters, in clock ticks (`USER_HZ`), all cores together. */
export interface MachineTicks {
  total: number;
  /** Everything but idle and iowait. */
  busy: number;
  steal: number;
}

export interface BusyThresholds {
  /** Other processes' CPU above this share of all cores (0–1) marks a run. */
  othersShare: number;
  /** Hypervisor steal above this share of all cores (0–1) marks a run. */
  stealShare: number;
  /** A calibration loop slower than the fastest seen by more than this factor marks a run. */
  calibrationSlowdown: number;
}

export const defaultBusyThresholds: BusyThresholds = {
  othersShare: 0.1,
  stealShare: 0.05,
  calibrationSlowdown: 1.25,
};

export interface Disturbance {
  /** Share of all cores (0–1) that processes other than the bench's used. */
  others: number;
  /** Share of all cores (0–1) the hypervisor took. */
  steal: number;
}

/**
 * How much of the machine others took between two `/proc/stat` readings, given the ticks the
 * bench's own processes used in between. Undefined when the readings are unusable.
 */
export function disturbance(from: MachineTicks, to: MachineTicks, ownTicks: number): Disturbance | undefined {
  const total = to.total - from.total;
  if (!(total > 0)) return undefined;
  const others = (to.busy - from.busy - ownTicks) / total;
  return { others: Math.min(1, Math.max(0, others)), steal: Math.max(0, (to.steal - from.steal) / total) };
}

export interface RunConditions {
  disturbance: Disturbance | undefined;
  /** Calibration loop durations around the run, in ms (before, after). */
  calibrationMs: readonly number[];
}

export interface Verdict {
  busy: boolean;
  /** Why, in words, e.g. "others 23%"; empty when not busy. */
  reasons: string[];
}

/** Judges one run against the thresholds; `fastestCalibrationMs` is the fastest loop of the whole bench. */
export function judgeRun(
  conditions: RunConditions,
  fastestCalibrationMs: number,
  thresholds: BusyThresholds = defaultBusyThresholds,
): Verdict {
  const reasons: string[] = [];
  const d = conditions.disturbance;
  if (d !== undefined && d.others > thresholds.othersShare) reasons.push(`others ${percent(d.others)}`);
  if (d !== undefined && d.steal > thresholds.stealShare) reasons.push(`steal ${percent(d.steal)}`);
  const slowest = Math.max(...conditions.calibrationMs);
  if (fastestCalibrationMs > 0 && slowest / fastestCalibrationMs > thresholds.calibrationSlowdown) {
    reasons.push(`calibration ${(slowest / fastestCalibrationMs).toFixed(2)}× slower`);
  }
  return { busy: reasons.length > 0, reasons };
}

/**
 * The verdict on the whole bench: too busy when the machine was busy before it started, or when
 * at least a third of the runs were marked.
 */
export function judgeBench(preflight: Verdict, runVerdicts: readonly Verdict[]): { tooBusy: boolean; marked: number } {
  const marked = runVerdicts.filter((verdict) => verdict.busy).length;
  return { tooBusy: preflight.busy || (runVerdicts.length > 0 && marked * 3 >= runVerdicts.length), marked };
}

/**
 * Judges the machine before the first run from others' CPU over a short idle sample. The load
 * average decides only where there is no sample (no `/proc/stat`): it trails by a minute, so
 * right after another bench or test run it reports work that has already ended.
 */
export function judgePreflight(
  idleSample: Disturbance | undefined,
  loadAverage1m: number,
  cpuCount: number,
  thresholds: BusyThresholds = defaultBusyThresholds,
): Verdict {
  const reasons: string[] = [];
  if (idleSample !== undefined && idleSample.others > thresholds.othersShare) {
    reasons.push(`others used ${percent(idleSample.others)} of all cores while the bench was idle`);
  }
  if (idleSample !== undefined && idleSample.steal > thresholds.stealShare) reasons.push(`steal ${percent(idleSample.steal)}`);
  // Without a sample, a load average above half the cores means runnable work a bench run would compete with.
  if (idleSample === undefined && loadAverage1m > cpuCount / 2) reasons.push(`load average ${loadAverage1m.toFixed(2)} on ${cpuCount} cores`);
  return { busy: reasons.length > 0, reasons };
}

function percent(share: number): string {
  return `${Math.round(share * 100)}%`;
}
