/**
 * What the orchestrator reads about the machine: its description, `/proc/stat` counters, the
 * CPU the bench's own processes used, and a CPU-speed calibration loop. Judged in lib/busy.ts.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type { MachineTicks } from './busy.js';

/** Machine-wide CPU counters from /proc/stat (Linux only); undefined elsewhere. */
export function readMachineTicks(): MachineTicks | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    // cpu  user nice system idle iowait irq softirq steal
    const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = ticks.reduce((sum, n) => sum + n, 0);
    const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
    return { total, busy: total - idle, steal: ticks[7] ?? 0 };
  } catch {
    return undefined;
  }
}

/** CPU time this process used so far, in clock ticks (100 per second, as /proc reports them). */
export function ownCpuTicks(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 10_000;
}

/** CPU time process `pid` used so far, all its threads, in clock ticks, from /proc; 0 when unknown. */
export function processCpuTicks(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "(comm)": state is field 3, utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
  } catch {
    return 0;
  }
}

const CALIBRATION_ITERATIONS = 3_000_000;
let sink = 0;

/**
 * Times a fixed CPU-bound loop (integer arithmetic and short-lived strings, ~20 ms on a quiet
 * 2-core VM); the median of three. Only its ratio to the fastest in the same bench means anything.
 */
export function calibrate(): number {
  const times: number[] = [];
  for (let rep = 0; rep < 3; rep++) {
    const start = performance.now();
    let x = rep + 1;
    for (let i = 0; i < CALIBRATION_ITERATIONS; i++) {
      x = (x * 1_103_515_245 + 12_345) & 0x7fffffff;
      if ((i & 1023) === 0) sink += String(x).length;
    }
    sink += x & 1;
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[1] ?? Number.NaN;
}

/** For the calibration loop's result not to be optimised away. */
export function calibrationSink(): number {
  return sink;
}

export function packageVersion(rootDir: string, name: string): string {
  try {
    const require = createRequire(path.join(rootDir, 'package.json'));
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    return '?';
  }
}

export function machineInfo(rootDir: string): string {
  const cpus = os.cpus();
  const model = cpus[0]?.model.trim() ?? 'unknown CPU';
  const memGb = (os.totalmem() / 2 ** 30).toFixed(1);
  const version = (name: string): string => packageVersion(rootDir, name);
  return [
    `node ${process.version}, ${os.platform()} ${os.arch()}, ${cpus.length} × ${model}, ${memGb} GiB RAM`,
    `@trpc/server ${version('@trpc/server')}, @trpc/client ${version('@trpc/client')}, ws ${version('ws')}, ` +
      `uWebSockets.js ${version('@trufflesuite/uws-js-unofficial')} (@trufflesuite/uws-js-unofficial)`,
  ].join('\n');
}
