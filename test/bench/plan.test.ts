import { describe, expect, it } from 'vitest';
import { IMPL_NAMES } from '../../bench/lib/config.js';
import type { ImplName, ScenarioName } from '../../bench/lib/config.js';
import { estimateMs, plan, scenarioVariants, timeoutMs, variantImpls } from '../../bench/lib/plan.js';
import { benchConfig } from './benchConfig.js';

/** scenario → the keys of the variants `plan` runs for it. */
function planned(impls: readonly ImplName[], overrides: Parameters<typeof benchConfig>[0] = {}): Partial<Record<ScenarioName, string[]>> {
  const entries = plan(benchConfig(overrides), impls).map(({ scenario, variants }) => [scenario, variants.map((v) => v.key)]);
  return Object.fromEntries(entries) as Partial<Record<ScenarioName, string[]>>;
}

describe('bench plan', () => {
  it('runs both uWS servers in fan-out and burst, both uWS pairs in round trips and ours on uWS in CPU per call by default', () => {
    expect(planned(IMPL_NAMES)).toEqual({
      fanout: ['stock', 'lanyard', 'lanyard-uws', 'ws', 'uws'],
      burst: ['stock', 'lanyard', 'lanyard-uws', 'ws', 'uws'],
      roundtrip: ['stock-stock', 'lanyard-lanyard', 'stock-lanyard', 'lanyard-stock', 'lanyard-lanyard-uws', 'stock-lanyard-uws'],
      cpu: ['stock', 'lanyard', 'lanyard-uws'],
      memory: ['stock', 'lanyard', 'stock-broker', 'lanyard-broker', 'ws'],
      connect: ['stock', 'lanyard'],
    });
  });

  it('leaves every uWS variant out when BENCH_IMPLS omits uws, which is the plan from before the uWS rows', () => {
    expect(planned(['stock', 'lanyard', 'ws'])).toEqual({
      fanout: ['stock', 'lanyard', 'ws'],
      burst: ['stock', 'lanyard', 'ws'],
      roundtrip: ['stock-stock', 'lanyard-lanyard', 'stock-lanyard', 'lanyard-stock'],
      cpu: ['stock', 'lanyard'],
      memory: ['stock', 'lanyard', 'stock-broker', 'lanyard-broker', 'ws'],
      connect: ['stock', 'lanyard'],
    });
  });

  it('with BENCH_IMPLS=uws alone runs both uWS fan-out servers (raw subscribers are neutral) and no round trip, which needs a tRPC client', () => {
    expect(planned(['uws'])).toEqual({ fanout: ['lanyard-uws', 'uws'], burst: ['lanyard-uws', 'uws'], cpu: ['lanyard-uws'] });
  });

  it('runs a round trip to our server on uWS only when its client implementation is listed too', () => {
    expect(planned(['stock', 'uws'], { scenarios: ['roundtrip'] })).toEqual({ roundtrip: ['stock-stock', 'stock-lanyard-uws'] });
    expect(planned(['lanyard', 'uws'], { scenarios: ['roundtrip'] })).toEqual({
      roundtrip: ['lanyard-lanyard', 'lanyard-lanyard-uws'],
    });
  });

  it('gives our server on uWS our own client with BENCH_FANOUT_CLIENT=own, so that it then needs lanyard listed', () => {
    const own = { scenarios: ['fanout'] as ScenarioName[], fanoutClient: 'own' as const };
    expect(planned(['uws'], own)).toEqual({ fanout: ['uws'] });
    expect(planned(['lanyard', 'uws'], own)).toEqual({ fanout: ['lanyard', 'lanyard-uws', 'uws'] });
  });

  it('runs no raw server in the frozen scenario: its rows would repeat plain fan-out', () => {
    expect(planned(IMPL_NAMES, { scenarios: ['frozen'] })).toEqual({ frozen: ['stock', 'lanyard', 'lanyard-uws'] });
  });

  it('counts both uWS servers as uws, and a tRPC client as its implementation', () => {
    const variant = (scenario: ScenarioName, key: string) => {
      const found = scenarioVariants(scenario, benchConfig()).find((v) => v.key === key);
      if (found === undefined) throw new Error(`no variant ${key} in ${scenario}`);
      return found;
    };
    expect(variantImpls(variant('fanout', 'uws'))).toEqual(['uws']);
    expect(variantImpls(variant('fanout', 'lanyard-uws'))).toEqual(['uws']);
    expect(variantImpls(variant('fanout', 'ws'))).toEqual(['ws']);
    expect(variantImpls(variant('roundtrip', 'stock-lanyard-uws')).sort()).toEqual(['stock', 'uws']);
    expect(variantImpls(variant('roundtrip', 'lanyard-lanyard-uws')).sort()).toEqual(['lanyard', 'uws']);
  });

  it('estimates every planned run: two more fan-out variants add twice what one more adds, and the watchdog follows', () => {
    const config = benchConfig({ scenarios: ['fanout'] });
    const estimate = (impls: ImplName[]) => estimateMs(config, plan(config, impls));
    const two = estimate(['stock', 'lanyard']);
    const three = estimate(['stock', 'lanyard', 'ws']);
    const five = estimate([...IMPL_NAMES]);
    expect(three).toBeGreaterThan(two);
    expect(five - three).toBe(2 * (three - two));
    const everything = estimateMs(benchConfig(), plan(benchConfig(), IMPL_NAMES));
    expect(timeoutMs(benchConfig(), everything)).toBe(Math.max(240_000, Math.round(2 * everything)));
  });
});
