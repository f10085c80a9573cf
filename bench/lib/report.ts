/**
 * The table `npm run bench` ends with: one block per figure of issue 10's table, one row per
 * variant, with the median of the runs, their range, and ratios to stock, to raw `ws` and (when
 * a raw uWS row was measured) to raw uWS.
 */
import type { BusyThresholds, RunConditions } from './busy.js';
import { judgeRun } from './busy.js';
import type { BenchConfig, ScenarioName } from './config.js';
import { dec1, dec2, int } from './format.js';
import { measured, median, pairedRatios, range } from './stats.js';

export interface RunRecord {
  scenario: ScenarioName;
  variantKey: string;
  /** 1-based; runs with the same number were taken one after the other (interleaved). */
  run: number;
  metrics: Record<string, number>;
  conditions: RunConditions;
}

/** Where a row's figures come from: the first of `sources` that has runs. */
interface RowSpec {
  label: string;
  sources: { scenario: ScenarioName; key: string }[];
}

interface BlockSpec {
  figure: string;
  metric: string;
  format: (value: number) => string;
  rows: RowSpec[];
  /** The row the "× stock" column divides by. */
  stock?: RowSpec;
  /** The row the "× raw ws" column divides by. */
  ws?: RowSpec;
  /** The row the "× raw uWS" column divides by. */
  uws?: RowSpec;
}

const row = (label: string, ...sources: [ScenarioName, string][]): RowSpec => ({
  label,
  sources: sources.map(([scenario, key]) => ({ scenario, key })),
});

function blocks(config: BenchConfig): BlockSpec[] {
  const n = int.format(config.subscribers);
  const fanout = (scenario: ScenarioName, what: string): BlockSpec => {
    const stock = row('stock', [scenario, 'stock']);
    // `frozen` runs no raw variant (it would repeat the plain one): compare with the plain rows.
    const rawScenario = scenario === 'frozen' ? 'fanout' : scenario;
    const ws = row('raw ws', [rawScenario, 'ws']);
    const uws = row('raw uWS', [rawScenario, 'uws']);
    const rows = [stock, row('lanyard', [scenario, 'lanyard']), row('lanyard on uWS', [scenario, 'lanyard-uws'])];
    if (scenario !== 'frozen') rows.push(ws, uws);
    return { figure: `fan-out msgs/s to ${n} subscribers, ${what} ↑`, metric: 'msgsPerSec', format: int.format, rows, stock, ws, uws };
  };
  const pairs = [
    row('stock client → stock server', ['roundtrip', 'stock-stock']),
    row('lanyard client → lanyard server', ['roundtrip', 'lanyard-lanyard']),
    row('stock client → lanyard server', ['roundtrip', 'stock-lanyard']),
    row('lanyard client → stock server', ['roundtrip', 'lanyard-stock']),
    row('lanyard client → lanyard on uWS', ['roundtrip', 'lanyard-lanyard-uws']),
    row('stock client → lanyard on uWS', ['roundtrip', 'stock-lanyard-uws']),
  ];
  const cpu = [row('stock server', ['cpu', 'stock']), row('lanyard server', ['cpu', 'lanyard']), row('lanyard on uWS', ['cpu', 'lanyard-uws'])];
  const memory = [
    row('stock, events.on', ['memory', 'stock']),
    row('lanyard, events.on', ['memory', 'lanyard']),
    row('stock, broker.stream', ['memory', 'stock-broker']),
    row('lanyard, broker.stream', ['memory', 'lanyard-broker']),
    row('raw ws', ['memory', 'ws']),
  ];
  const connect = [row('stock', ['connect', 'stock']), row('lanyard', ['connect', 'lanyard'])];
  const c = int.format(config.connections);
  return [
    fanout('fanout', 'plain events, 1 per turn'),
    fanout('burst', `plain events, ${config.burst} per turn`),
    fanout('frozen', 'frozen events, 1 per turn'),
    { figure: `round trips calls/s, one connection, ${config.inflight} in flight ↑`, metric: 'callsPerSec', format: int.format, rows: pairs, stock: pairs[0] },
    { figure: `server CPU µs per call, raw-protocol client, ${config.pipeline} pipelined ↓`, metric: 'usPerCall', format: dec1.format, rows: cpu, stock: cpu[0] },
    { figure: `server heap KiB per subscribed connection ↓`, metric: 'heapKiB', format: dec1.format, rows: memory, stock: memory[0], ws: memory[4] },
    { figure: `${c} concurrent connect + auth + first call, p50 ms ↓`, metric: 'p50', format: dec1.format, rows: connect, stock: connect[0] },
    { figure: `${c} concurrent connect + auth + first call, p99 ms ↓`, metric: 'p99', format: dec1.format, rows: connect, stock: connect[0] },
  ];
}

interface Series {
  scenario: ScenarioName;
  /** Indexed by run number − 1; undefined where that run is missing. */
  values: (number | undefined)[];
  busy: boolean;
}

function series(spec: RowSpec, metric: string, records: readonly RunRecord[], busyOf: (record: RunRecord) => boolean): Series | undefined {
  for (const { scenario, key } of spec.sources) {
    const runs = records.filter((record) => record.scenario === scenario && record.variantKey === key && metric in record.metrics);
    if (runs.length === 0) continue;
    const values: (number | undefined)[] = [];
    for (const record of runs) values[record.run - 1] = record.metrics[metric];
    return { scenario, values, busy: runs.some(busyOf) };
  }
  return undefined;
}

function ratioCell(value: Series, base: Series | undefined, isBase: boolean): string {
  if (isBase) return 'base';
  if (base === undefined) return '—';
  const ratio = median(measured(value.values)) / median(measured(base.values));
  if (!Number.isFinite(ratio)) return '—';
  // Runs of one scenario were interleaved: their per-run ratios show the noise; across scenarios they were not.
  const paired = value.scenario === base.scenario ? pairedRatios(value.values, base.values) : [];
  const spread = range(paired);
  return paired.length >= 2 && spread ? `${dec2.format(ratio)}× (${dec2.format(spread.min)}–${dec2.format(spread.max)})` : `${dec2.format(ratio)}×`;
}

/** Renders the table; a `*` marks medians that include a run taken while the machine was busy. */
export function renderTable(
  config: BenchConfig,
  records: readonly RunRecord[],
  fastestCalibrationMs: number,
  thresholds: BusyThresholds,
): string[] {
  const busyOf = (record: RunRecord): boolean => judgeRun(record.conditions, fastestCalibrationMs, thresholds).busy;
  const seriesOf = (spec: RowSpec | undefined, metric: string): Series | undefined => spec && series(spec, metric, records, busyOf);
  const specs = blocks(config);
  // The "× raw uWS" column only appears when a raw uWS row was measured.
  const withUws = specs.some((block) => seriesOf(block.uws, block.metric) !== undefined);
  const header = ['figure / variant', 'median', 'range of runs', '× stock (per-run range)', '× raw ws (per-run range)'];
  if (withUws) header.push('× raw uWS (per-run range)');
  const lines: (string[] | string)[] = [];
  for (const block of specs) {
    const rows = block.rows
      .map((spec) => ({ spec, data: seriesOf(spec, block.metric) }))
      .filter((entry): entry is { spec: RowSpec; data: Series } => entry.data !== undefined);
    if (rows.length === 0) continue;
    const stock = seriesOf(block.stock, block.metric);
    const ws = seriesOf(block.ws, block.metric);
    const uws = seriesOf(block.uws, block.metric);
    lines.push(block.figure);
    for (const { spec, data } of rows) {
      const values = measured(data.values);
      const spread = range(values);
      const cells = [
        `  ${spec.label}`,
        `${block.format(median(values))}${data.busy ? '*' : ''}`,
        spread && values.length > 1 ? `${block.format(spread.min)}–${block.format(spread.max)}` : '—',
        ratioCell(data, stock, spec === block.stock),
        ratioCell(data, ws, spec === block.ws),
      ];
      if (withUws) cells.push(ratioCell(data, uws, spec === block.uws));
      lines.push(cells);
    }
  }
  const cells = lines.filter((line): line is string[] => Array.isArray(line));
  const widths = header.map((_, col) => Math.max(...[header, ...cells].map((line) => (line[col] ?? '').length)));
  const render = (line: string[]): string =>
    line.map((text, col) => (col === 0 ? text.padEnd(widths[col] ?? 0) : text.padStart(widths[col] ?? 0))).join(' | ');
  return [
    render(header),
    widths.map((w) => '-'.repeat(w)).join('-|-'),
    ...lines.map((line) => (typeof line === 'string' ? line : render(line))),
  ];
}
