/**
 * `npm run bench`: stock tRPC WebSockets, trpc-lanyard (on `ws` and on uWebSockets.js), raw `ws`
 * and raw uWS, side by side.
 *
 * For every run this process starts a fresh server process and a fresh load process (both
 * `node --import tsx`), coordinates them over IPC and never measures anything itself, except
 * how busy the machine is (lib/busy.ts). See bench/README.md.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { disturbance, judgeBench, judgePreflight, judgeRun } from './lib/busy.js';
import type { RunConditions, Verdict } from './lib/busy.js';
import { childCpuTicks } from './lib/child.js';
import { IMPL_NAMES, readConfig } from './lib/config.js';
import type { BenchConfig, ImplName } from './lib/config.js';
import { dec1 } from './lib/format.js';
import { calibrate, calibrationSink, machineInfo, ownCpuTicks, readMachineTicks } from './lib/machine.js';
import { estimateMs, plan, timeoutMs } from './lib/plan.js';
import type { PlannedScenario } from './lib/plan.js';
import { rootDir, RunProcesses } from './lib/processes.js';
import { renderTable } from './lib/report.js';
import type { RunRecord } from './lib/report.js';
import { runScenario } from './lib/scenarios.js';

// ------------------------------------------------------------------ setup

/** Sources each implementation of ours needs; without them it is left out of the default run. */
const ourSources: Partial<Record<ImplName, string[]>> = {
  lanyard: ['src/server/index.ts', 'src/client/index.ts'],
  uws: ['src/adapters/uws/index.ts'],
};

function resolveImpls(config: BenchConfig): { impls: ImplName[]; note: string | undefined } {
  if (config.impls) return { impls: config.impls, note: undefined };
  const impls: ImplName[] = [];
  const skipped: string[] = [];
  for (const impl of IMPL_NAMES) {
    const missing = (ourSources[impl] ?? []).filter((file) => !existsSync(path.join(rootDir, file)));
    if (missing.length === 0) impls.push(impl);
    else skipped.push(`${impl} skipped: ${missing.join(', ')} not found`);
  }
  return { impls, note: skipped.length === 0 ? undefined : `${skipped.join('; ')} (set BENCH_IMPLS to force)` };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The fastest calibration loop of this bench: the machine's speed when nothing else ran. */
let fastestCalibrationMs = Number.POSITIVE_INFINITY;

function timedCalibration(): number {
  const ms = calibrate();
  fastestCalibrationMs = Math.min(fastestCalibrationMs, ms);
  return ms;
}

/** How busy the machine is before anything of ours runs: one idle second, the load average, the loop. */
async function preflight(config: BenchConfig): Promise<Verdict> {
  timedCalibration(); // warms the loop up (JIT); not judged
  const from = readMachineTicks();
  const ownFrom = ownCpuTicks();
  await sleep(1000);
  const to = readMachineTicks();
  const idle = from && to ? disturbance(from, to, ownCpuTicks() - ownFrom) : undefined;
  const calibrations = [timedCalibration(), timedCalibration(), timedCalibration()];
  const load = os.loadavg();
  const verdict = judgePreflight(idle, load[0] ?? 0, os.cpus().length, config.thresholds);
  console.log(
    `machine before the bench: load average ${load.map((x) => x.toFixed(2)).join(' / ')} on ${os.cpus().length} cores; ` +
      (idle ? `others used ${Math.round(idle.others * 100)}% of all cores over 1 s idle; ` : '') +
      `calibration loop ${calibrations.map((ms) => dec1.format(ms)).join(' / ')} ms`,
  );
  if (verdict.busy) {
    console.log(`MACHINE BUSY before the bench (${verdict.reasons.join('; ')}): the figures below will mean little.`);
  }
  return verdict;
}

// ------------------------------------------------------------------- main

async function main(config: BenchConfig, planned: PlannedScenario[], note: string | undefined, estimate: number, limitMs: number): Promise<void> {
  if (config.cpuProfDir !== undefined) mkdirSync(config.cpuProfDir, { recursive: true });

  console.log('trpc-lanyard bench');
  console.log(machineInfo(rootDir));
  console.log(
    `${config.runs} run(s) per variant, interleaved, fresh processes per run; ` +
      `fan-out: ${config.subscribers} subscribers, ` +
      (config.events === undefined ? `publishing for ${config.durationMs} ms` : `publishing ${config.events} events`) +
      `; round trips / CPU: ${config.durationMs} ms after ${config.warmupMs} ms warm-up; connect: ${config.connections} clients`,
  );
  console.log(`scenarios: ${planned.map(({ scenario, variants }) => `${scenario} (${variants.map((v) => v.key).join(', ')})`).join('; ')}`);
  console.log(`estimated ${Math.round(estimate / 1000)} s on a quiet 2-core VM; aborts after ${Math.round(limitMs / 1000)} s`);
  if (note) console.log(`NOTE: ${note}`);
  if (config.cpuProfDir !== undefined) console.log(`NOTE: CPU profiles go to ${config.cpuProfDir}; profiled numbers are slower`);
  const preflightVerdict = await preflight(config);
  console.log('');

  const ticksAtStart = readMachineTicks();
  const ownAtStart = ownCpuTicks() + childCpuTicks();
  const records: RunRecord[] = [];
  for (const { scenario, variants } of planned) {
    for (let run = 1; run <= config.runs; run++) {
      // Rotate the order so that no variant always runs first (or last) on a warmer machine.
      const shift = (run - 1) % variants.length;
      const order = [...variants.slice(shift), ...variants.slice(0, shift)];
      for (const variant of order) {
        const label = `${scenario}-${variant.key}-${run}`;
        const calibrationBefore = timedCalibration();
        const ticksBefore = readMachineTicks();
        const ownBefore = ownCpuTicks() + childCpuTicks();
        const runStarted = Date.now();
        const procs = new RunProcesses(config, variant, label);
        let result;
        try {
          result = await runScenario(config, scenario, variant, procs);
        } finally {
          await procs.stop();
        }
        const ticksAfter = readMachineTicks();
        const ownUsed = ownCpuTicks() + childCpuTicks() - ownBefore;
        const conditions: RunConditions = {
          disturbance: ticksBefore && ticksAfter ? disturbance(ticksBefore, ticksAfter, ownUsed) : undefined,
          calibrationMs: [calibrationBefore, timedCalibration()],
        };
        records.push({ scenario, variantKey: variant.key, run, metrics: result.metrics, conditions });
        const verdict = judgeRun(conditions, fastestCalibrationMs, config.thresholds);
        const machine =
          (conditions.disturbance ? `others ${Math.round(conditions.disturbance.others * 100)}%, ` : '') +
          `loop ${conditions.calibrationMs.map((ms) => dec1.format(ms)).join('/')} ms, run took ${dec1.format((Date.now() - runStarted) / 1000)} s`;
        console.log(
          `${scenario.padEnd(9)} ${variant.label.padEnd(31)} run ${run}/${config.runs}: ${result.detail} ` +
            `[machine: ${machine}]${verdict.busy ? ` BUSY (${verdict.reasons.join(', ')})` : ''}`,
        );
      }
    }
  }

  // Judged again now that the fastest calibration of the whole bench is known.
  const verdicts = records.map((record) => judgeRun(record.conditions, fastestCalibrationMs, config.thresholds));
  const bench = judgeBench(preflightVerdict, verdicts);
  const ticksAtEnd = readMachineTicks();
  const whole = ticksAtStart && ticksAtEnd ? disturbance(ticksAtStart, ticksAtEnd, ownCpuTicks() + childCpuTicks() - ownAtStart) : undefined;
  const wholeLine = whole
    ? `others used ${Math.round(whole.others * 100)}% of all cores over the whole bench (steal ${Math.round(whole.steal * 100)}%)`
    : 'machine load unknown (no /proc/stat)';
  console.log('');
  if (bench.tooBusy) {
    console.log(
      `MACHINE TOO BUSY: ${bench.marked} of ${records.length} runs marked busy` +
        `${preflightVerdict.busy ? ', and it was busy before the bench started' : ''}; ${wholeLine}. ` +
        'The figures below mean little: rerun on a quiet machine.',
    );
  } else if (bench.marked > 0) {
    console.log(`${bench.marked} of ${records.length} runs marked busy (* below); ${wholeLine}.`);
  } else {
    console.log(`machine quiet: no run marked busy; ${wholeLine}.`);
  }
  console.log('');
  for (const line of renderTable(config, records, fastestCalibrationMs, config.thresholds)) console.log(line);
  console.log(
    '↑ higher is better, ↓ lower is better. median and range of the runs above; * = a run in it was taken while the ' +
      'machine was busy. × columns: ratio of medians, with the range of the per-run ratios of interleaved runs.',
  );
  if (config.jsonOut !== undefined) {
    const json = { machine: machineInfo(rootDir), config, tooBusy: bench.tooBusy, fastestCalibrationMs, records, calibrationChecksum: calibrationSink() };
    writeFileSync(config.jsonOut, `${JSON.stringify(json, null, 2)}\n`);
    console.log(`raw results: ${config.jsonOut}`);
  }
}

const started = Date.now();
let exitCode = 0;
let watchdog: NodeJS.Timeout | undefined;
const armWatchdog = (limitMs: number): void => {
  watchdog = setTimeout(() => {
    console.error(`bench FAILED: still running after ${limitMs} ms (BENCH_TIMEOUT_MS), aborting`);
    process.exit(1);
  }, limitMs);
};
/** `BENCH_SCENARIOS=redis`: the Redis fan-out scenario (needs Redis), on its own; see bench/redis/run.ts. */
const scenariosEnv = (process.env['BENCH_SCENARIOS'] ?? '').split(',').map((s) => s.trim());
try {
  if (scenariosEnv.includes('redis')) {
    if (scenariosEnv.some((s) => s !== 'redis' && s !== '')) {
      throw new Error('BENCH_SCENARIOS=redis runs on its own; run the other scenarios separately');
    }
    armWatchdog(Number(process.env['BENCH_TIMEOUT_MS'] ?? '') || 600_000);
    const { runRedisBench } = await import('./redis/run.js');
    await runRedisBench();
  } else {
    const config = readConfig();
    const { impls, note } = resolveImpls(config);
    const planned = plan(config, impls);
    if (planned.length === 0) throw new Error('nothing to run: no scenario has a variant within BENCH_IMPLS');
    const estimate = estimateMs(config, planned);
    const limitMs = timeoutMs(config, estimate);
    armWatchdog(limitMs);
    await main(config, planned, note, estimate, limitMs);
  }
  console.log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
} catch (error) {
  console.error(`bench FAILED: ${error instanceof Error ? error.message : String(error)}`);
  exitCode = 1;
} finally {
  clearTimeout(watchdog);
}
process.exit(exitCode);
