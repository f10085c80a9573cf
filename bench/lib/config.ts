/**
 * Bench settings, read from environment variables, plus the clock every process shares.
 */
export const IMPL_NAMES = ['stock', 'lanyard'] as const;
export type ImplName = (typeof IMPL_NAMES)[number];

export const SCENARIO_NAMES = ['fanout', 'roundtrip'] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

export interface BenchConfig {
  /** Implementations to run; `undefined` means "both if ours exists, else stock". */
  impls: ImplName[] | undefined;
  scenarios: ScenarioName[];
  /** Repetitions per scenario and implementation; the table shows the median. */
  runs: number;
  subscribers: number;
  /** Fan-out: how long the server keeps publishing. Round trips: measured window. */
  durationMs: number;
  /** Fan-out: publish exactly this many events instead of publishing for `durationMs`. */
  events: number | undefined;
  /** Events published per `setImmediate` tick. */
  burst: number;
  /** Clients that connect and subscribe concurrently. */
  connectBatch: number;
  warmupMs: number;
  inflight: number;
  /** Hard limit for the whole run; `undefined` means derived from the estimate. */
  timeoutMs: number | undefined;
  /** Directory for `--cpu-prof` output of the server processes, if set. */
  cpuProfDir: string | undefined;
  /** File to write the raw results to, as JSON, if set. */
  jsonOut: string | undefined;
}

function int(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    throw new Error(`${name} must be an integer >= ${min}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

function list<T extends string>(name: string, allowed: readonly T[]): T[] | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const items = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const item of items) {
    if (!(allowed as readonly string[]).includes(item)) {
      throw new Error(`${name}: unknown value ${JSON.stringify(item)} (allowed: ${allowed.join(', ')})`);
    }
  }
  return [...new Set(items)] as T[];
}

function optionalString(name: string): string | undefined {
  const raw = process.env[name];
  return raw === undefined || raw === '' ? undefined : raw;
}

export function readConfig(): BenchConfig {
  const eventsRaw = optionalString('BENCH_EVENTS');
  return {
    impls: list('BENCH_IMPLS', IMPL_NAMES),
    scenarios: list('BENCH_SCENARIOS', SCENARIO_NAMES) ?? [...SCENARIO_NAMES],
    runs: int('BENCH_RUNS', 3),
    subscribers: int('BENCH_SUBSCRIBERS', 1000),
    durationMs: int('BENCH_DURATION_MS', 5000, 100),
    events: eventsRaw === undefined ? undefined : int('BENCH_EVENTS', 0),
    burst: int('BENCH_BURST', 100),
    connectBatch: int('BENCH_CONNECT_BATCH', 100),
    warmupMs: int('BENCH_WARMUP_MS', 1000, 0),
    inflight: int('BENCH_INFLIGHT', 64),
    timeoutMs: optionalString('BENCH_TIMEOUT_MS') === undefined ? undefined : int('BENCH_TIMEOUT_MS', 0, 1000),
    cpuProfDir: optionalString('BENCH_CPU_PROF'),
    jsonOut: optionalString('BENCH_JSON'),
  };
}

/**
 * Milliseconds since the Unix epoch with sub-millisecond resolution. Comparable
 * across the processes of one run, which all live on the same machine.
 */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

/** Rough wall-clock estimate of a run, from experience on a 2-core VM. */
export function estimateMs(config: BenchConfig, implCount: number): number {
  const fanout = config.events === undefined ? 5000 + 2.5 * config.durationMs : 60_000;
  const roundtrip = 4000 + config.warmupMs + config.durationMs;
  const perRun =
    (config.scenarios.includes('fanout') ? fanout : 0) + (config.scenarios.includes('roundtrip') ? roundtrip : 0);
  return perRun * config.runs * implCount;
}

/** The watchdog: BENCH_TIMEOUT_MS, else 4 minutes or 1.5 × the estimate, whichever is longer. */
export function timeoutMs(config: BenchConfig, implCount: number): number {
  return config.timeoutMs ?? Math.max(240_000, Math.round(1.5 * estimateMs(config, implCount)));
}
