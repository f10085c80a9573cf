/**
 * One run of each scenario, on fresh processes (see `RunProcesses`): each returns its figures
 * (`metrics`) and a one-line account of the run (`detail`). The orchestrator measures nothing
 * itself: times and CPU come from the children.
 */
import type { BenchConfig, ScenarioName } from './config.js';
import type { CpuSample } from './messages.js';
import type { Variant } from './plan.js';
import type { RunProcesses } from './processes.js';
import { dec1, int, pct } from './format.js';

export interface RunResult {
  metrics: Record<string, number>;
  detail: string;
}

/** Events the memory scenario publishes after measuring, to prove every subscription delivers. */
const MEMORY_CHECK_EVENTS = 10;

function cpuShare(from: CpuSample, to: CpuSample): number {
  return (to.cpuUs - from.cpuUs) / 1000 / Math.max(to.at - from.at, 1e-9);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface FanoutShape {
  /** Events per event-loop turn. */
  burst: number;
  frozen: boolean;
  /** Only measure memory, then publish a few events to check delivery. */
  memoryOnly: boolean;
}

function fanoutShape(config: BenchConfig, scenario: ScenarioName): FanoutShape {
  switch (scenario) {
    case 'burst':
      return { burst: config.burst, frozen: false, memoryOnly: false };
    case 'frozen':
      return { burst: 1, frozen: true, memoryOnly: false };
    case 'memory':
      return { burst: 1, frozen: false, memoryOnly: true };
    default:
      return { burst: 1, frozen: false, memoryOnly: false };
  }
}

/** Fan-out (`fanout`, `burst`, `frozen`) and `memory`: subscribe all, measure heap, publish, check every delivery. */
async function runFanout(config: BenchConfig, scenario: ScenarioName, variant: Variant, procs: RunProcesses): Promise<RunResult> {
  const shape = fanoutShape(config, scenario);
  const url = await procs.startServer();
  const server = procs.requireServer();
  const memBefore = await server.request({ type: 'mem' }, 'mem', 10_000);
  const load = await procs.startLoad();
  const { subscribers } = config;
  const { ms: subscribeMs } = await load.request(
    {
      type: 'fanout-subscribe',
      url,
      subscribers,
      batch: config.connectBatch,
      timeoutMs: 30_000,
      procedure: variant.source === 'broker' ? 'onStream' : 'onEvent',
    },
    'subscribed',
    Math.max(60_000, subscribers * 60),
  );
  const memAfter = await server.request({ type: 'mem' }, 'mem', 10_000);
  if (memAfter.clients !== subscribers) throw new Error(`server holds ${memAfter.clients} sockets, expected ${subscribers}`);
  const heapKiB = (memAfter.heapUsed - memBefore.heapUsed) / subscribers / 1024;
  const rssKiB = (memAfter.rss - memBefore.rss) / subscribers / 1024;
  const memory = `heap ${dec1.format(heapKiB)} KiB/conn, RSS ${dec1.format(rssKiB)} KiB/conn; subscribe ${int.format(subscribeMs)} ms`;

  const loadCpuBefore = await load.request({ type: 'cpu' }, 'cpu', 10_000);
  const maxEvents = shape.memoryOnly ? MEMORY_CHECK_EVENTS : (config.events ?? Number.MAX_SAFE_INTEGER);
  const timed = !shape.memoryOnly && config.events === undefined;
  const published = await server.request(
    { type: 'publish', durationMs: timed ? config.durationMs : Number.MAX_SAFE_INTEGER, maxEvents, burst: shape.burst, frozen: shape.frozen },
    'published',
    timed ? config.durationMs + 60_000 : 120_000,
  );
  const drainMs = Math.max(30_000, 4 * (published.lastAt - published.firstAt));
  const done = await load.request({ type: 'fanout-expect', events: published.events, timeoutMs: drainMs }, 'fanout-done', drainMs + 10_000);
  const serverAfter = await server.request({ type: 'sample' }, 'sample', 10_000);
  const expected = published.events * subscribers;
  if (done.deliveries !== expected) throw new Error(`delivered ${done.deliveries}, expected ${expected}`);
  if (shape.memoryOnly) {
    return { metrics: { heapKiB, rssKiB, subscribeMs }, detail: `${memory}; ${published.events} events delivered to all` };
  }
  const elapsedMs = done.lastDeliveryAt - published.firstAt;
  const msgsPerSec = (done.deliveries / elapsedMs) * 1000;
  const serverCpu = cpuShare(published.cpuAtStart, serverAfter);
  const loadCpu = cpuShare(loadCpuBefore, done.cpu);
  const publishMs = published.lastAt - published.firstAt;
  return {
    metrics: { msgsPerSec, heapKiB, rssKiB, subscribeMs, serverCpu, loadCpu },
    detail:
      `${int.format(msgsPerSec)} msgs/s (${int.format(published.events)} events in ${int.format(published.turns)} turns × ` +
      `${int.format(subscribers)} in ${int.format(elapsedMs)} ms, published in ${int.format(publishMs)} ms; ` +
      `CPU server ${pct(serverCpu)}, load ${pct(loadCpu)}; ${memory})`,
  };
}

/** `roundtrip` and `cpu`: one connection kept busy; calls and CPU counted by the server over the window. */
async function runCalls(config: BenchConfig, scenario: ScenarioName, procs: RunProcesses): Promise<RunResult> {
  const url = await procs.startServer();
  const server = procs.requireServer();
  const load = await procs.startLoad();
  const inflight = scenario === 'cpu' ? config.pipeline : config.inflight;
  await load.request({ type: 'calls-start', url, inflight, timeoutMs: 30_000 }, 'calls-started', 40_000);
  await sleep(config.warmupMs);
  const sample = () =>
    Promise.all([server.request({ type: 'sample' }, 'sample', 10_000), load.request({ type: 'cpu' }, 'cpu', 10_000)]);
  const [serverFrom, loadFrom] = await sample();
  await sleep(config.durationMs);
  const [serverTo, loadTo] = await sample();
  const { calls: clientCalls } = await load.request({ type: 'calls-stop', timeoutMs: 30_000 }, 'calls-done', 40_000);
  const calls = serverTo.calls - serverFrom.calls;
  if (calls <= 0) throw new Error('no call completed in the measured window');
  if (clientCalls < calls) throw new Error(`the client saw ${clientCalls} answers, the server ran ${calls} calls in the window alone`);
  const callsPerSec = (calls / (serverTo.at - serverFrom.at)) * 1000;
  const usPerCall = (serverTo.cpuUs - serverFrom.cpuUs) / calls;
  const serverCpu = cpuShare(serverFrom, serverTo);
  const loadCpu = cpuShare(loadFrom, loadTo);
  return {
    metrics: { callsPerSec, usPerCall, serverCpu, loadCpu },
    detail:
      `${int.format(callsPerSec)} calls/s, server ${dec1.format(usPerCall)} µs CPU/call ` +
      `(${int.format(calls)} calls, ${inflight} in flight; CPU server ${pct(serverCpu)}, load ${pct(loadCpu)})`,
  };
}

/** `connect`: every client connects at once, authenticates with a token and makes one call. */
async function runConnect(config: BenchConfig, procs: RunProcesses): Promise<RunResult> {
  const url = await procs.startServer(true);
  const server = procs.requireServer();
  const load = await procs.startLoad();
  const [serverFrom, loadFrom] = await Promise.all([
    server.request({ type: 'sample' }, 'sample', 10_000),
    load.request({ type: 'cpu' }, 'cpu', 10_000),
  ]);
  const result = await load.request(
    { type: 'connect', url, connections: config.connections, timeoutMs: 60_000 },
    'connect-done',
    70_000,
  );
  const [serverTo, loadTo] = await Promise.all([
    server.request({ type: 'sample' }, 'sample', 10_000),
    load.request({ type: 'cpu' }, 'cpu', 10_000),
  ]);
  const mem = await server.request({ type: 'mem' }, 'mem', 10_000);
  if (mem.clients !== config.connections) throw new Error(`server holds ${mem.clients} sockets, expected ${config.connections}`);
  const serverCpuMs = (serverTo.cpuUs - serverFrom.cpuUs) / 1000;
  const loadCpuMs = (loadTo.cpuUs - loadFrom.cpuUs) / 1000;
  return {
    metrics: { p50: result.p50, p99: result.p99, max: result.max, totalMs: result.totalMs, serverCpuMs, loadCpuMs },
    detail:
      `p50 ${dec1.format(result.p50)} ms, p99 ${dec1.format(result.p99)} ms, max ${dec1.format(result.max)} ms ` +
      `(all ${int.format(config.connections)} in ${int.format(result.totalMs)} ms; CPU server ${int.format(serverCpuMs)} ms, ` +
      `load ${int.format(loadCpuMs)} ms)`,
  };
}

export function runScenario(config: BenchConfig, scenario: ScenarioName, variant: Variant, procs: RunProcesses): Promise<RunResult> {
  switch (scenario) {
    case 'fanout':
    case 'burst':
    case 'frozen':
    case 'memory':
      return runFanout(config, scenario, variant, procs);
    case 'roundtrip':
    case 'cpu':
      return runCalls(config, scenario, procs);
    case 'connect':
      return runConnect(config, procs);
  }
}
