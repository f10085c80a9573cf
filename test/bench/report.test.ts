import { describe, expect, it } from 'vitest';
import { defaultBusyThresholds } from '../../bench/lib/busy.js';
import type { ScenarioName } from '../../bench/lib/config.js';
import { renderTable } from '../../bench/lib/report.js';
import type { RunRecord } from '../../bench/lib/report.js';
import { benchConfig } from './benchConfig.js';

const CALIBRATION_MS = 20;

/** Runs of one variant, quiet machine, one value per run (run 1, 2, …). */
function runs(scenario: ScenarioName, variantKey: string, metric: string, values: number[]): RunRecord[] {
  return values.map((value, index) => ({
    scenario,
    variantKey,
    run: index + 1,
    metrics: { [metric]: value },
    conditions: { disturbance: { others: 0, steal: 0 }, calibrationMs: [CALIBRATION_MS, CALIBRATION_MS] },
  }));
}

function table(records: RunRecord[]): string[][] {
  const lines = renderTable(benchConfig({ subscribers: 1000 }), records, CALIBRATION_MS, defaultBusyThresholds);
  return lines.filter((line) => line.includes('|') && !line.startsWith('-')).map((line) => line.split('|').map((cell) => cell.trim()));
}

const rowOf = (rows: string[][], label: string): string[] => {
  const found = rows.find((cells) => cells[0] === label);
  if (found === undefined) throw new Error(`no row ${label}`);
  return found;
};

describe('bench table', () => {
  const wsFanout = [
    ...runs('fanout', 'stock', 'msgsPerSec', [10_000, 12_000]),
    ...runs('fanout', 'lanyard', 'msgsPerSec', [30_000, 36_000]),
    ...runs('fanout', 'ws', 'msgsPerSec', [40_000, 40_000]),
  ];
  const uwsFanout = [
    ...runs('fanout', 'lanyard-uws', 'msgsPerSec', [45_000, 60_000]),
    ...runs('fanout', 'uws', 'msgsPerSec', [50_000, 60_000]),
  ];

  it('has the five columns of before when no raw uWS row was measured', () => {
    const [header, ...rows] = table(wsFanout);
    expect(header).toEqual(['figure / variant', 'median', 'range of runs', '× stock (per-run range)', '× raw ws (per-run range)']);
    expect(rowOf(rows, 'lanyard')).toEqual(['lanyard', '33,000', '30,000–36,000', '3.00× (3.00–3.00)', '0.83× (0.75–0.90)']);
  });

  it('adds a × raw uWS column with the per-run ratios of interleaved runs when raw uWS was measured', () => {
    const [header, ...rows] = table([...wsFanout, ...uwsFanout]);
    expect(header?.[5]).toBe('× raw uWS (per-run range)');
    expect(rowOf(rows, 'raw uWS')).toEqual(['raw uWS', '55,000', '50,000–60,000', '5.00× (5.00–5.00)', '1.38× (1.25–1.50)', 'base']);
    expect(rowOf(rows, 'lanyard on uWS')).toEqual([
      'lanyard on uWS',
      '52,500',
      '45,000–60,000',
      '4.77× (4.50–5.00)',
      '1.31× (1.13–1.50)',
      '0.95× (0.90–1.00)',
    ]);
    expect(rowOf(rows, 'raw ws')[5]).toBe('0.73× (0.67–0.80)');
  });

  it("shows '—' in the × raw uWS column of blocks without a raw uWS row", () => {
    const rows = table([
      ...wsFanout,
      ...uwsFanout,
      ...runs('roundtrip', 'stock-stock', 'callsPerSec', [8000, 8000]),
      ...runs('roundtrip', 'lanyard-lanyard-uws', 'callsPerSec', [12_000, 12_000]),
    ]);
    expect(rowOf(rows, 'lanyard client → lanyard on uWS')).toEqual([
      'lanyard client → lanyard on uWS',
      '12,000',
      '12,000–12,000',
      '1.50× (1.50–1.50)',
      '—',
      '—',
    ]);
  });

  it('compares frozen fan-out with the plain raw rows, without a per-run range (those runs were not interleaved)', () => {
    const rows = table([...uwsFanout, ...runs('frozen', 'lanyard-uws', 'msgsPerSec', [55_000, 55_000])]);
    const frozenRow = rows.filter((cells) => cells[0] === 'lanyard on uWS')[1];
    expect(frozenRow?.[5]).toBe('1.00×');
    expect(rows.filter((cells) => cells[0] === 'raw uWS')).toHaveLength(1);
  });
});
