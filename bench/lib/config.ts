/**
 * Bench settings, read from environment variables, plus the clock every process shares.
 */
import { defaultBusyThresholds } from './busy.js';
import type { BusyThresholds } from './busy.js';

/**
 * The implementations a variant may involve; `BENCH_IMPLS` filters by them. `uws` stands for
 * both uWebSockets.js servers: our handler on uWS (`trpc-lanyard/uws`) and the raw uWS broadcaster.
 */
export const IMPL_NAMES = ['stock', 'lanyard', 'ws', 'uws'] as const;
export type ImplName = (typeof IMPL_NAMES)[number];

/**
 * - `fanout`: plain events, one per event-loop turn, to stock, lanyard (on `ws` and on uWS), raw `ws` and raw uWS;
 * - `burst`: the same with `BENCH_BURST` events per turn;
 * - `frozen`: one frozen event per turn, the tRPC servers only (opt-in: not in `DEFAULT_SCENARIOS`);
 * - `roundtrip`: calls/s for the client → server pairs (four on `ws`, two with our server on uWS);
 * - `cpu`: server CPU per call, raw-protocol client (stock, lanyard, lanyard on uWS);
 * - `memory`: heap per subscribed connection with the memory broker's `stream` as the source;
 * - `connect`: concurrent connect + auth + first call latency.
 */
export const SCENARIO_NAMES = ['fanout', 'burst', 'frozen', 'roundtrip', 'cpu', 'memory', 'connect'] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

/** What `npm run bench` runs without BENCH_SCENARIOS: everything but `frozen` (≈ 55–70 s more). */
export const DEFAULT_SCENARIOS: readonly ScenarioName[] = SCENARIO_NAMES.filter((name) => name !== 'frozen');

export interface BenchConfig {
  /** Implementations to run; `undefined` means all (lanyard only if its sources exist). */
  impls: ImplName[] | undefined;
  scenarios: ScenarioName[];
  /** Repetitions per scenario and variant; the table shows the median and range. */
  runs: number;
  /** Fan-out and memory: subscribed connections. */
  subscribers: number;
  /** Fan-out: how long the server keeps publishing. Round trips and CPU: the measured window. */
  durationMs: number;
  /** Fan-out: publish exactly this many events instead of publishing for `durationMs`. */
  events: number | undefined;
  /** `burst` scenario: events published per event-loop turn. */
  burst: number;
  /**
   * Fan-out subscribers of the tRPC servers: `raw` (tRPC's wire protocol spoken with `ws`, as
   * cheap as the raw ws baseline's, so the figure is the server's) or `own` (each
   * implementation's own tRPC client).
   */
  fanoutClient: 'raw' | 'own';
  /** Clients that connect and subscribe concurrently (fan-out and memory set-up). */
  connectBatch: number;
  /** Round trips and CPU: time before the measured window. */
  warmupMs: number;
  /** Round trips: calls in flight on the one tRPC client. */
  inflight: number;
  /** CPU per call: requests the raw-protocol client keeps in flight. */
  pipeline: number;
  /** Connect scenario: clients that connect at once. */
  connections: number;
  thresholds: BusyThresholds;
  /** Hard limit for the whole run; `undefined` means derived from the estimate. */
  timeoutMs: number | undefined;
  /** Directory for `--cpu-prof` output of every child process, if set. */
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

function fanoutClient(): 'raw' | 'own' {
  const raw = optionalString('BENCH_FANOUT_CLIENT') ?? 'raw';
  if (raw !== 'raw' && raw !== 'own') throw new Error(`BENCH_FANOUT_CLIENT must be raw or own, got ${JSON.stringify(raw)}`);
  return raw;
}

export function readConfig(): BenchConfig {
  const eventsRaw = optionalString('BENCH_EVENTS');
  return {
    impls: list('BENCH_IMPLS', IMPL_NAMES),
    scenarios: list('BENCH_SCENARIOS', SCENARIO_NAMES) ?? [...DEFAULT_SCENARIOS],
    runs: int('BENCH_RUNS', 3),
    subscribers: int('BENCH_SUBSCRIBERS', 1000),
    durationMs: int('BENCH_DURATION_MS', 3000, 100),
    events: eventsRaw === undefined ? undefined : int('BENCH_EVENTS', 0),
    burst: int('BENCH_BURST', 10),
    fanoutClient: fanoutClient(),
    connectBatch: int('BENCH_CONNECT_BATCH', 100),
    warmupMs: int('BENCH_WARMUP_MS', 1000, 0),
    inflight: int('BENCH_INFLIGHT', 64),
    pipeline: int('BENCH_PIPELINE', 64),
    connections: int('BENCH_CONNECTIONS', 1000),
    thresholds: {
      ...defaultBusyThresholds,
      othersShare: int('BENCH_BUSY_PCT', Math.round(defaultBusyThresholds.othersShare * 100), 0) / 100,
    },
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
