import { defaultBusyThresholds } from '../../bench/lib/busy.js';
import { DEFAULT_SCENARIOS } from '../../bench/lib/config.js';
import type { BenchConfig } from '../../bench/lib/config.js';

/** The bench's default settings (as `readConfig()` gives them without BENCH_* variables), with `overrides`. */
export function benchConfig(overrides: Partial<BenchConfig> = {}): BenchConfig {
  return {
    impls: undefined,
    scenarios: [...DEFAULT_SCENARIOS],
    runs: 3,
    subscribers: 1000,
    durationMs: 3000,
    events: undefined,
    burst: 10,
    fanoutClient: 'raw',
    connectBatch: 100,
    warmupMs: 1000,
    inflight: 64,
    pipeline: 64,
    connections: 1000,
    thresholds: defaultBusyThresholds,
    timeoutMs: undefined,
    cpuProfDir: undefined,
    jsonOut: undefined,
    ...overrides,
  };
}
