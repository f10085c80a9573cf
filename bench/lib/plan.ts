/**
 * Which process pairs each scenario runs (its variants), and how long that takes.
 */
import type { BenchConfig, ImplName, ScenarioName } from './config.js';

/**
 * The server process: a tRPC implementation on `ws` (`stock`, `lanyard`), our handler on
 * uWebSockets.js (`lanyard-uws`), or a raw broadcaster on `ws` or on uWS (`ws`, `uws`).
 */
export const SERVER_KINDS = ['stock', 'lanyard', 'ws', 'lanyard-uws', 'uws'] as const;
export type ServerKind = (typeof SERVER_KINDS)[number];
/**
 * The load process: a tRPC client implementation, raw `ws` subscribers (the fan-out baselines'
 * protocol, against raw `ws` or raw uWS), or a raw-protocol client that speaks tRPC's JSON wire
 * protocol itself.
 */
export type ClientKind = 'stock' | 'lanyard' | 'ws' | 'raw';
/** What the subscription reads: `events.on()` on an EventEmitter, or the memory broker's `stream`. */
export type SourceKind = 'events' | 'broker';

export interface Variant {
  /** Short and unique within its scenario; used in file names and JSON. */
  key: string;
  /** What the table's variant column says. */
  label: string;
  server: ServerKind;
  client: ClientKind;
  source: SourceKind;
}

/** The raw broadcasters: no tRPC, the SUBSCRIBE/STARTED protocol of `rawWire.ts`. */
export function isRawServer(server: ServerKind): boolean {
  return server === 'ws' || server === 'uws';
}

const ownClients: Variant[] = [
  { key: 'stock', label: 'stock', server: 'stock', client: 'stock', source: 'events' },
  { key: 'lanyard', label: 'lanyard', server: 'lanyard', client: 'lanyard', source: 'events' },
  { key: 'lanyard-uws', label: 'lanyard on uWS', server: 'lanyard-uws', client: 'lanyard', source: 'events' },
  { key: 'ws', label: 'raw ws', server: 'ws', client: 'ws', source: 'events' },
  { key: 'uws', label: 'raw uWS', server: 'uws', client: 'ws', source: 'events' },
];

/** Fan-out: the tRPC servers' subscribers speak the wire protocol themselves unless `fanoutClient` is `own`. */
function fanoutVariants(config: BenchConfig): Variant[] {
  if (config.fanoutClient === 'own') return ownClients;
  return ownClients.map((variant) => (isRawServer(variant.server) ? variant : { ...variant, client: 'raw' }));
}

const serverLabels: Record<'stock' | 'lanyard' | 'lanyard-uws', string> = {
  stock: 'stock server',
  lanyard: 'lanyard server',
  'lanyard-uws': 'lanyard on uWS',
};

const pair = (client: 'stock' | 'lanyard', server: 'stock' | 'lanyard' | 'lanyard-uws'): Variant => ({
  key: `${client}-${server}`,
  label: `${client} client → ${serverLabels[server]}`,
  server,
  client,
  source: 'events',
});

/** Every variant a scenario may run, before `BENCH_IMPLS` filters them. */
export function scenarioVariants(scenario: ScenarioName, config: BenchConfig): Variant[] {
  switch (scenario) {
    case 'fanout':
    case 'burst':
      return fanoutVariants(config);
    case 'frozen':
      // The raw servers serialise every event once whatever its shape: a frozen row would repeat `fanout`'s.
      return fanoutVariants(config).filter((variant) => !isRawServer(variant.server));
    case 'roundtrip':
      return [
        pair('stock', 'stock'),
        pair('lanyard', 'lanyard'),
        pair('stock', 'lanyard'),
        pair('lanyard', 'stock'),
        pair('lanyard', 'lanyard-uws'),
        pair('stock', 'lanyard-uws'),
      ];
    case 'cpu':
      return [
        { key: 'stock', label: 'stock server', server: 'stock', client: 'raw', source: 'events' },
        { key: 'lanyard', label: 'lanyard server', server: 'lanyard', client: 'raw', source: 'events' },
        { key: 'lanyard-uws', label: 'lanyard on uWS', server: 'lanyard-uws', client: 'raw', source: 'events' },
      ];
    case 'memory':
      // Each server with its own client, as deployed (ours then negotiates its extension).
      return [
        { key: 'stock', label: 'stock, events.on', server: 'stock', client: 'stock', source: 'events' },
        { key: 'lanyard', label: 'lanyard, events.on', server: 'lanyard', client: 'lanyard', source: 'events' },
        { key: 'stock-broker', label: 'stock, broker.stream', server: 'stock', client: 'stock', source: 'broker' },
        { key: 'lanyard-broker', label: 'lanyard, broker.stream', server: 'lanyard', client: 'lanyard', source: 'broker' },
        { key: 'ws', label: 'raw ws', server: 'ws', client: 'ws', source: 'events' },
      ];
    case 'connect':
      return [
        { key: 'stock', label: 'stock', server: 'stock', client: 'stock', source: 'events' },
        { key: 'lanyard', label: 'lanyard', server: 'lanyard', client: 'lanyard', source: 'events' },
      ];
  }
}

/** The implementation each server kind stands for in `BENCH_IMPLS`: both uWS servers are `uws`. */
const serverImpls: Record<ServerKind, ImplName> = { stock: 'stock', lanyard: 'lanyard', ws: 'ws', 'lanyard-uws': 'uws', uws: 'uws' };

/**
 * The implementations a variant involves: its server's, and its client's when that is a tRPC
 * client (the raw clients, raw `ws` subscribers and the raw-protocol client, are neutral).
 */
export function variantImpls(variant: Variant): ImplName[] {
  const impls = new Set<ImplName>([serverImpls[variant.server]]);
  if (variant.client === 'stock' || variant.client === 'lanyard') impls.add(variant.client);
  return [...impls];
}

export interface PlannedScenario {
  scenario: ScenarioName;
  variants: Variant[];
}

/** The scenarios to run with the variants whose implementations are all in `impls`. */
export function plan(config: BenchConfig, impls: readonly ImplName[]): PlannedScenario[] {
  return config.scenarios
    .map((scenario) => ({
      scenario,
      variants: scenarioVariants(scenario, config).filter((variant) =>
        variantImpls(variant).every((impl) => impls.includes(impl)),
      ),
    }))
    .filter((entry) => entry.variants.length > 0);
}

/**
 * Fixed cost of one run: two fresh processes (tsx start-up), calibration, IPC. This constant and
 * `runMs` are fitted to run times measured on the project's 2-core VM (per-run lines print them).
 */
const RUN_OVERHEAD_MS = 2000;

/** Rough wall-clock estimate of one run of a scenario, beyond `RUN_OVERHEAD_MS`. */
function runMs(config: BenchConfig, scenario: ScenarioName): number {
  const subscribeAll = 1.8 * config.subscribers;
  switch (scenario) {
    case 'fanout':
    case 'burst':
    case 'frozen':
      return subscribeAll + (config.events === undefined ? 1.1 * config.durationMs : 20_000) + 500;
    case 'roundtrip':
    case 'cpu':
      return config.warmupMs + config.durationMs + 500;
    case 'memory':
      return subscribeAll + 500;
    case 'connect':
      return 1.5 * config.connections;
  }
}

/** Rough wall-clock estimate of the whole bench. */
export function estimateMs(config: BenchConfig, scenarios: readonly PlannedScenario[]): number {
  const preflightMs = 2000;
  return (
    preflightMs +
    scenarios.reduce(
      (sum, { scenario, variants }) => sum + variants.length * config.runs * (RUN_OVERHEAD_MS + runMs(config, scenario)),
      0,
    )
  );
}

/** The watchdog: BENCH_TIMEOUT_MS, else 4 minutes or 2 × the estimate, whichever is longer. */
export function timeoutMs(config: BenchConfig, estimate: number): number {
  return config.timeoutMs ?? Math.max(240_000, Math.round(2 * estimate));
}
