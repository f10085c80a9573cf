/**
 * `npm run bench`: stock tRPC WebSockets vs trpc-lanyard, side by side.
 *
 * For every measurement this process starts a fresh server process and a fresh
 * load process (both `node --import tsx`), coordinates them over IPC and
 * never measures anything itself. See bench/README.md.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Child, childCpuTicks } from './lib/child.js';
import { estimateMs, readConfig, timeoutMs } from './lib/config.js';
import type { BenchConfig, ImplName, ScenarioName } from './lib/config.js';
import type { CpuSample, LoadCommand, LoadReply, MemSample, ServerCommand, ServerReply } from './lib/messages.js';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const rootDir = path.resolve(benchDir, '..');

type Server = Child<ServerCommand, ServerReply>;
type Load = Child<LoadCommand, LoadReply>;

interface FanoutRun {
  deliveriesPerSec: number;
  events: number;
  deliveries: number;
  /** First publish → last delivery. */
  elapsedMs: number;
  publishMs: number;
  subscribeMs: number;
  heapPerConn: number;
  rssPerConn: number;
  serverCpu: number;
  loadCpu: number;
}

interface RoundtripRun {
  callsPerSec: number;
  calls: number;
  /** Includes the warm-up. */
  serverCpu: number;
  loadCpu: number;
}

type Results = Record<ImplName, { fanout: FanoutRun[]; roundtrip: RoundtripRun[] }>;

// ------------------------------------------------------------------ setup

function resolveImpls(config: BenchConfig): { impls: ImplName[]; note: string | undefined } {
  if (config.impls) return { impls: config.impls, note: undefined };
  const missing = ['src/server/index.ts', 'src/client/index.ts'].filter((file) => !existsSync(path.join(rootDir, file)));
  if (missing.length === 0) return { impls: ['stock', 'lanyard'], note: undefined };
  return { impls: ['stock'], note: `lanyard skipped: ${missing.join(', ')} not found (set BENCH_IMPLS to force)` };
}

function packageVersion(name: string): string {
  try {
    const require = createRequire(path.join(rootDir, 'package.json'));
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    return '?';
  }
}

function machineInfo(): string {
  const cpus = os.cpus();
  const model = cpus[0]?.model.trim() ?? 'unknown CPU';
  const memGb = (os.totalmem() / 2 ** 30).toFixed(1);
  return [
    `node ${process.version}, ${os.platform()} ${os.arch()}, ${cpus.length} × ${model}, ${memGb} GiB RAM`,
    `@trpc/server ${packageVersion('@trpc/server')}, @trpc/client ${packageVersion('@trpc/client')}, ws ${packageVersion('ws')}`,
  ].join('\n');
}

interface MachineTicks {
  /** All CPUs, in clock ticks (USER_HZ, 100 per second on Linux). */
  total: number;
  busy: number;
  steal: number;
  /** CPU used by this process and its finished children, in the same ticks. */
  ours: number;
}

/** Machine-wide CPU counters from /proc/stat (Linux only), to tell whether the run was disturbed. */
function readMachineTicks(): MachineTicks | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    // user nice system idle iowait irq softirq steal
    const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = ticks.reduce((sum, n) => sum + n, 0);
    const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
    const own = process.cpuUsage();
    const ours = childCpuTicks() + (own.user + own.system) / 10_000;
    return { total, busy: total - idle, steal: ticks[7] ?? 0, ours };
  } catch {
    return undefined;
  }
}

/** How much CPU the hypervisor (steal) and other processes took while the bench ran. */
function disturbanceNote(from: MachineTicks | undefined): string {
  const to = readMachineTicks();
  if (!from || !to || to.total === from.total) return '';
  const total = to.total - from.total;
  const steal = (to.steal - from.steal) / total;
  const others = Math.max(0, (to.busy - from.busy - (to.ours - from.ours)) / total);
  const noisy = steal + others > 0.05;
  return (
    `machine CPU taken by others during the run: steal ${(steal * 100).toFixed(1)}%, ` +
    `other processes ${(others * 100).toFixed(1)}% of all cores` +
    (noisy ? ' — NOISY: rerun on a quiet machine, or compare ratios only' : '')
  );
}

// -------------------------------------------------------------- processes

/**
 * `--cpu-prof` writes one profile per thread (tsx's loader hooks run in a
 * worker), so each child profiles into its own directory and
 * `collectProfile` keeps the main thread's profile (thread id 0).
 */
function profileArgs(config: BenchConfig, label: string): string[] {
  if (config.cpuProfDir === undefined) return [];
  return ['--cpu-prof', '--cpu-prof-dir', path.join(config.cpuProfDir, `${label}.tmp`)];
}

function collectProfile(config: BenchConfig, label: string): void {
  if (config.cpuProfDir === undefined) return;
  const dir = path.join(config.cpuProfDir, `${label}.tmp`);
  if (!existsSync(dir)) return;
  // Default names are CPU.<date>.<time>.<pid>.<tid>.<seq>.cpuprofile.
  const main = readdirSync(dir).find((file) => file.split('.')[4] === '0');
  if (main !== undefined) renameSync(path.join(dir, main), path.join(config.cpuProfDir, `${label}.cpuprofile`));
  rmSync(dir, { recursive: true, force: true });
}

function profileEnv(config: BenchConfig, label: string): Record<string, string> {
  if (config.cpuProfDir === undefined) return {};
  return { BENCH_PROFILE_MARKS: path.join(config.cpuProfDir, `${label}.marks.json`) };
}

async function startServer(config: BenchConfig, impl: ImplName, label: string): Promise<{ server: Server; url: string }> {
  const server: Server = new Child({
    name: `server(${impl})`,
    script: path.join(benchDir, 'server.ts'),
    cwd: rootDir,
    env: { BENCH_IMPL: impl, ...profileEnv(config, `server-${label}`) },
    nodeArgs: ['--expose-gc', ...profileArgs(config, `server-${label}`)],
  });
  const { port } = await server.waitFor('ready', 30_000);
  return { server, url: `ws://127.0.0.1:${port}` };
}

async function startLoad(config: BenchConfig, impl: ImplName, label: string): Promise<Load> {
  const load: Load = new Child({
    name: `load(${impl})`,
    script: path.join(benchDir, 'load.ts'),
    cwd: rootDir,
    env: { BENCH_IMPL: impl, ...profileEnv(config, `load-${label}`) },
    nodeArgs: profileArgs(config, `load-${label}`),
  });
  await load.waitFor('ready', 30_000);
  return load;
}

async function stopAll(config: BenchConfig, label: string, load: Load | undefined, server: Server | undefined): Promise<void> {
  await load?.stop({ type: 'stop' });
  await server?.stop({ type: 'stop' });
  collectProfile(config, `load-${label}`);
  collectProfile(config, `server-${label}`);
}

function cpuShare(from: CpuSample, to: CpuSample): number {
  return (to.cpuUs - from.cpuUs) / 1000 / Math.max(to.at - from.at, 1e-9);
}

// -------------------------------------------------------------- scenarios

async function runFanout(config: BenchConfig, impl: ImplName, label: string): Promise<FanoutRun> {
  let server: Server | undefined;
  let load: Load | undefined;
  try {
    const started = await startServer(config, impl, label);
    server = started.server;
    const memBefore: MemSample = await server.request({ type: 'mem' }, 'mem', 10_000);
    load = await startLoad(config, impl, label);

    const { subscribers } = config;
    const { ms: subscribeMs } = await load.request(
      { type: 'fanout-subscribe', url: started.url, subscribers, batch: config.connectBatch, timeoutMs: 30_000 },
      'subscribed',
      Math.max(60_000, subscribers * 60),
    );
    const memAfter: MemSample = await server.request({ type: 'mem' }, 'mem', 10_000);
    if (memAfter.clients !== subscribers) {
      throw new Error(`server holds ${memAfter.clients} sockets, expected ${subscribers}`);
    }

    const loadCpuBefore = await load.request({ type: 'cpu' }, 'cpu', 10_000);
    const maxEvents = config.events ?? Number.MAX_SAFE_INTEGER;
    const durationMs = config.events === undefined ? config.durationMs : Number.MAX_SAFE_INTEGER;
    const published = await server.request(
      { type: 'publish', durationMs, maxEvents, burst: config.burst },
      'published',
      config.events === undefined ? config.durationMs + 60_000 : 120_000,
    );
    const drainMs = Math.max(30_000, 4 * (published.lastAt - published.firstAt));
    const done = await load.request(
      { type: 'fanout-expect', events: published.events, timeoutMs: drainMs },
      'fanout-done',
      drainMs + 10_000,
    );
    const serverCpuAfter = await server.request({ type: 'cpu' }, 'cpu', 10_000);

    const expected = published.events * subscribers;
    if (done.deliveries !== expected) throw new Error(`delivered ${done.deliveries}, expected ${expected}`);
    const elapsedMs = done.lastDeliveryAt - published.firstAt;
    return {
      deliveriesPerSec: (done.deliveries / elapsedMs) * 1000,
      events: published.events,
      deliveries: done.deliveries,
      elapsedMs,
      publishMs: published.lastAt - published.firstAt,
      subscribeMs,
      heapPerConn: (memAfter.heapUsed - memBefore.heapUsed) / subscribers,
      rssPerConn: (memAfter.rss - memBefore.rss) / subscribers,
      serverCpu: cpuShare(published.cpuAtStart, serverCpuAfter),
      loadCpu: cpuShare(loadCpuBefore, done.cpu),
    };
  } finally {
    await stopAll(config, label, load, server);
  }
}

async function runRoundtrip(config: BenchConfig, impl: ImplName, label: string): Promise<RoundtripRun> {
  let server: Server | undefined;
  let load: Load | undefined;
  try {
    const started = await startServer(config, impl, label);
    server = started.server;
    load = await startLoad(config, impl, label);
    const serverCpuBefore = await server.request({ type: 'cpu' }, 'cpu', 10_000);
    const { calls, elapsedMs, cpuFrom, cpuTo } = await load.request(
      {
        type: 'roundtrip',
        url: started.url,
        warmupMs: config.warmupMs,
        durationMs: config.durationMs,
        inflight: config.inflight,
      },
      'roundtrip-done',
      config.warmupMs + config.durationMs + 30_000,
    );
    const serverCpuAfter = await server.request({ type: 'cpu' }, 'cpu', 10_000);
    if (calls <= 0) throw new Error('no round trip completed');
    return {
      callsPerSec: (calls / elapsedMs) * 1000,
      calls,
      serverCpu: cpuShare(serverCpuBefore, serverCpuAfter),
      loadCpu: cpuShare(cpuFrom, cpuTo),
    };
  } finally {
    await stopAll(config, label, load, server);
  }
}

// ----------------------------------------------------------------- report

const int = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const dec1 = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1, minimumFractionDigits: 1 });
const pct = (share: number): string => `${Math.round(share * 100)}%`;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const upper = sorted[mid] ?? Number.NaN;
  return sorted.length % 2 === 1 ? upper : ((sorted[mid - 1] ?? Number.NaN) + upper) / 2;
}

interface Row {
  label: string;
  pick: (results: Results[ImplName]) => number[];
  format: (value: number) => string;
}

function rows(config: BenchConfig): Row[] {
  const out: Row[] = [];
  const n = int.format(config.subscribers);
  if (config.scenarios.includes('fanout')) {
    out.push(
      { label: `fan-out to ${n} subscribers, delivered events/s ↑`, pick: (r) => r.fanout.map((x) => x.deliveriesPerSec), format: int.format },
      { label: `server heap per subscribed connection, KiB ↓`, pick: (r) => r.fanout.map((x) => x.heapPerConn / 1024), format: dec1.format },
      { label: `server RSS per subscribed connection, KiB ↓`, pick: (r) => r.fanout.map((x) => x.rssPerConn / 1024), format: dec1.format },
      { label: `connect + subscribe ${n} clients, ms ↓`, pick: (r) => r.fanout.map((x) => x.subscribeMs), format: int.format },
    );
  }
  if (config.scenarios.includes('roundtrip')) {
    out.push({
      label: `round trips, ${config.inflight} in flight, calls/s ↑`,
      pick: (r) => r.roundtrip.map((x) => x.callsPerSec),
      format: int.format,
    });
  }
  return out;
}

/** (max − min) / median over the runs, as "±x%" (half the range, relative). */
function spread(values: number[]): string {
  if (values.length < 2) return '—';
  const mid = median(values);
  const range = Math.max(...values) - Math.min(...values);
  return mid === 0 ? '—' : `±${Math.round((range / 2 / Math.abs(mid)) * 100)}%`;
}

function printTable(config: BenchConfig, impls: ImplName[], results: Results): void {
  const header = ['scenario', 'stock', 'lanyard', 'ratio (lanyard/stock)', 'spread stock / lanyard'];
  const body = rows(config).map((row) => {
    const values = (impl: ImplName): number[] | undefined => (impls.includes(impl) ? row.pick(results[impl]) : undefined);
    const stockRuns = values('stock');
    const lanyardRuns = values('lanyard');
    const stock = stockRuns && median(stockRuns);
    const lanyard = lanyardRuns && median(lanyardRuns);
    const cell = (value: number | undefined): string => (value === undefined ? '—' : row.format(value));
    const ratio = stock !== undefined && lanyard !== undefined ? `${(lanyard / stock).toFixed(2)}×` : '—';
    const spreads = `${stockRuns ? spread(stockRuns) : '—'} / ${lanyardRuns ? spread(lanyardRuns) : '—'}`;
    return [row.label, cell(stock), cell(lanyard), ratio, spreads];
  });
  const widths = header.map((_, col) => Math.max(...[header, ...body].map((line) => (line[col] ?? '').length)));
  const render = (line: string[]): string =>
    line.map((text, col) => (col === 0 ? text.padEnd(widths[col] ?? 0) : text.padStart(widths[col] ?? 0))).join(' | ');
  console.log(render(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
  for (const line of body) console.log(render(line));
  console.log('↑ higher is better, ↓ lower is better; each cell is the median of the runs listed above;');
  console.log('spread is half the min–max range of the runs, relative to the median.');
}

// ------------------------------------------------------------------- main

async function main(config: BenchConfig, impls: ImplName[], note: string | undefined, limitMs: number): Promise<void> {
  if (config.cpuProfDir !== undefined) mkdirSync(config.cpuProfDir, { recursive: true });

  console.log('trpc-lanyard bench');
  console.log(machineInfo());
  const fanoutLoad =
    config.events === undefined ? `publishing for ${config.durationMs} ms` : `publishing ${config.events} events`;
  console.log(
    `fan-out: ${config.subscribers} subscribers, ${fanoutLoad}, ${config.burst} events per tick; ` +
      `round trips: ${config.inflight} in flight for ${config.durationMs} ms after ${config.warmupMs} ms warm-up; ` +
      `${config.runs} run(s) each, fresh processes per run`,
  );
  console.log(
    `estimated ${Math.round(estimateMs(config, impls.length) / 1000)} s; aborts after ${Math.round(limitMs / 1000)} s`,
  );
  if (note) console.log(`NOTE: ${note}`);
  if (config.cpuProfDir !== undefined) console.log(`NOTE: CPU profiles go to ${config.cpuProfDir}; profiled numbers are slower`);
  console.log('');

  const ticksAtStart = readMachineTicks();
  const results = Object.fromEntries(impls.map((impl) => [impl, { fanout: [], roundtrip: [] }])) as unknown as Results;
  const scenarios: ScenarioName[] = config.scenarios;
  for (const scenario of scenarios) {
    for (let run = 1; run <= config.runs; run++) {
      // Alternate the order so neither implementation always runs on a "warmer" machine.
      const order = run % 2 === 1 ? impls : [...impls].reverse();
      for (const impl of order) {
        const label = `${impl}-${scenario}-${run}`;
        const prefix = `${scenario.padEnd(9)} ${impl.padEnd(7)} run ${run}/${config.runs}:`;
        if (scenario === 'fanout') {
          const r = await runFanout(config, impl, label);
          results[impl].fanout.push(r);
          console.log(
            `${prefix} ${int.format(r.deliveriesPerSec)} deliveries/s ` +
              `(${int.format(r.events)} events × ${int.format(config.subscribers)} in ${int.format(r.elapsedMs)} ms, ` +
              `published in ${int.format(r.publishMs)} ms; CPU server ${pct(r.serverCpu)}, load ${pct(r.loadCpu)}; ` +
              `heap ${dec1.format(r.heapPerConn / 1024)} KiB/conn, RSS ${dec1.format(r.rssPerConn / 1024)} KiB/conn; ` +
              `subscribe ${int.format(r.subscribeMs)} ms)`,
          );
        } else {
          const r = await runRoundtrip(config, impl, label);
          results[impl].roundtrip.push(r);
          console.log(
            `${prefix} ${int.format(r.callsPerSec)} calls/s ` +
              `(${int.format(r.calls)} calls; CPU server ${pct(r.serverCpu)} incl. warm-up, load ${pct(r.loadCpu)})`,
          );
        }
      }
    }
  }

  console.log('');
  printTable(config, impls, results);
  const disturbance = disturbanceNote(ticksAtStart);
  if (disturbance !== '') console.log(disturbance);
  if (config.jsonOut !== undefined) {
    writeFileSync(config.jsonOut, `${JSON.stringify({ machine: machineInfo(), config, results }, null, 2)}\n`);
    console.log(`raw results: ${config.jsonOut}`);
  }
}

const started = Date.now();
let exitCode = 0;
let watchdog: NodeJS.Timeout | undefined;
/** `BENCH_SCENARIOS=redis`: the Redis fan-out scenario (needs Redis), on its own; see bench/redis/run.ts. */
const redisOnly = (process.env['BENCH_SCENARIOS'] ?? '').split(',').map((s) => s.trim()).includes('redis');
try {
  if (redisOnly) {
    if ((process.env['BENCH_SCENARIOS'] ?? '').split(',').some((s) => s.trim() !== 'redis' && s.trim() !== '')) {
      throw new Error('BENCH_SCENARIOS=redis runs on its own; run the other scenarios separately');
    }
    const limitMs = Number(process.env['BENCH_TIMEOUT_MS'] ?? '') || 600_000;
    watchdog = setTimeout(() => {
      console.error(`bench FAILED: still running after ${limitMs} ms (BENCH_TIMEOUT_MS), aborting`);
      process.exit(1);
    }, limitMs);
    const { runRedisBench } = await import('./redis/run.js');
    await runRedisBench();
    console.log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    process.exit(0);
  }
  const config = readConfig();
  const { impls, note } = resolveImpls(config);
  const limitMs = timeoutMs(config, impls.length);
  watchdog = setTimeout(() => {
    console.error(`bench FAILED: still running after ${limitMs} ms (BENCH_TIMEOUT_MS), aborting`);
    process.exit(1);
  }, limitMs);
  await main(config, impls, note, limitMs);
  console.log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
} catch (error) {
  console.error(`bench FAILED: ${error instanceof Error ? error.message : String(error)}`);
  exitCode = 1;
} finally {
  clearTimeout(watchdog);
}
process.exit(exitCode);
