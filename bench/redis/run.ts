/**
 * `BENCH_SCENARIOS=redis npm run bench`: fan-out through Redis, trpc-lanyard vs Socket.IO 4, in one run.
 *
 * Per implementation: two server nodes (bench/redis/node.ts) on one Redis, a load process
 * (bench/redis/load.ts) with BENCH_REDIS_SUBSCRIBERS subscribers on each node, all on one channel,
 * and node A publishing BENCH_REDIS_EVENTS messages at BENCH_REDIS_RATE per second. Every run gets
 * its own key prefix and channel name; every child is killed at the end, whatever happens.
 * See bench/README.md § "Fan-out through Redis".
 */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';
import { Child } from '../lib/child.js';
import { REDIS_IMPL_NAMES } from './messages.js';
import type { NodeCommand, NodeReply, RedisImplName, RedisLoadCommand, RedisLoadReply } from './messages.js';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const rootDir = path.resolve(benchDir, '../..');

function int(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be an integer >= ${min}, got ${raw}`);
  return value;
}

export interface RedisConfig {
  redisUrl: string;
  impls: RedisImplName[];
  subscribersPerNode: number;
  events: number;
  ratePerSec: number;
  payloadBytes: number;
  runs: number;
  connectBatch: number;
}

export function readRedisConfig(): RedisConfig {
  const implsRaw = process.env['BENCH_REDIS_IMPLS'];
  const impls = implsRaw === undefined || implsRaw === '' ? [...REDIS_IMPL_NAMES] : implsRaw.split(',').map((s) => s.trim());
  for (const impl of impls) {
    if (!(REDIS_IMPL_NAMES as readonly string[]).includes(impl)) throw new Error(`BENCH_REDIS_IMPLS: unknown ${impl}`);
  }
  return {
    redisUrl: process.env['BENCH_REDIS_URL'] ?? process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379',
    impls: impls as RedisImplName[],
    subscribersPerNode: int('BENCH_REDIS_SUBSCRIBERS', 500),
    events: int('BENCH_REDIS_EVENTS', 200),
    ratePerSec: int('BENCH_REDIS_RATE', 20),
    payloadBytes: int('BENCH_REDIS_PAYLOAD_BYTES', 100, 0),
    runs: int('BENCH_RUNS', 1),
    connectBatch: int('BENCH_CONNECT_BATCH', 100),
  };
}

interface RedisRun {
  deliveriesPerSec: number;
  deliveries: number;
  elapsedMs: number;
  publishMs: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  nodeBP50Ms: number;
  nodeBP99Ms: number;
  subscribeMs: number;
  cpuNodeA: number;
  cpuNodeB: number;
  cpuLoad: number;
}

type Node = Child<NodeCommand, NodeReply>;
type Load = Child<RedisLoadCommand, RedisLoadReply>;

function spawn<C, R extends { type: string }>(name: string, script: string, env: Record<string, string>): Child<C, R> {
  return new Child<C, R>({ name, script: path.join(benchDir, script), env, nodeArgs: [], cwd: rootDir });
}

async function waitUntil(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function deleteKeys(redisUrl: string, pattern: string): Promise<void> {
  const client = await createClient({ url: redisUrl }).connect();
  try {
    for await (const keys of client.scanIterator({ MATCH: pattern, COUNT: 1000 })) {
      const batch = ([] as string[]).concat(keys);
      if (batch.length > 0) await client.del(batch);
    }
  } finally {
    await client.quit();
  }
}

/** Fails every step of a run as soon as any watched child exits or reports an error. */
class FailFast {
  private rejectAll: (error: unknown) => void = () => undefined;
  private readonly failed = new Promise<never>((_, reject) => {
    this.rejectAll = reject;
  });

  constructor() {
    this.failed.catch(() => undefined);
  }

  watch<T extends Child<never, { type: string }>>(child: T): T {
    // No reply has this type: the wait ends only when the child fails (exit, error).
    const waitFor = child.waitFor as unknown as (this: T, type: string, timeoutMs: number) => Promise<unknown>;
    waitFor.call(child, 'child-failed', 2 ** 31 - 1).catch((error: unknown) => this.rejectAll(error));
    return child;
  }

  step<T>(promise: Promise<T>): Promise<T> {
    return Promise.race([promise, this.failed]);
  }
}

async function runOnce(config: RedisConfig, impl: RedisImplName, runId: string): Promise<RedisRun> {
  const prefix = `lanyard-bench-${runId}`;
  const env = { BENCH_IMPL: impl, BENCH_REDIS_URL: config.redisUrl, BENCH_REDIS_PREFIX: prefix, BENCH_REDIS_CHANNEL: `fanout-${runId}` };
  const nodes: Node[] = [];
  let load: Load | undefined;
  const guard = new FailFast();
  try {
    for (const name of ['A', 'B']) nodes.push(guard.watch(spawn<NodeCommand, NodeReply>(`node ${name} (${impl})`, 'node.ts', env)));
    const ports = await guard.step(Promise.all(nodes.map(async (node) => (await node.waitFor('ready', 60_000)).port)));
    const scheme = impl === 'lanyard' ? 'ws' : 'http';
    const urls = ports.map((port) => `${scheme}://127.0.0.1:${port}`);
    load = guard.watch(spawn<RedisLoadCommand, RedisLoadReply>(`load (${impl})`, 'load.ts', env));
    const perNode = config.subscribersPerNode;
    const { ms: subscribeMs } = await guard.step(load.request(
      { type: 'subscribe', urls, subscribersPerNode: perNode, batch: config.connectBatch, timeoutMs: 60_000 },
      'subscribed',
      60_000 * Math.ceil((2 * perNode) / config.connectBatch),
    ));
    // Every node holds exactly its share of sockets, each subscribed on the channel.
    await guard.step(waitUntil(`${perNode} subscribers on each node`, 30_000, async () => {
      const counts = await Promise.all(nodes.map((node) => node.request({ type: 'count' }, 'count', 10_000)));
      return counts.every((c) => c.clients === perNode && c.localSubscribers === perNode);
    }));
    // Let the nodes' Redis SUBSCRIBE land before the first publish (clients start "from now").
    await new Promise((resolve) => setTimeout(resolve, 500));

    const [nodeA, nodeB] = nodes as [Node, Node];
    const ticks = (): number[] => [nodeA.cpuTicks(), nodeB.cpuTicks(), load?.cpuTicks() ?? 0];
    const ticksBefore = ticks();
    const wallBefore = Date.now();
    const publishBudgetMs = Math.round((config.events / config.ratePerSec) * 1000) * 3 + 30_000;
    const published = await guard.step(nodeA.request(
      { type: 'publish', events: config.events, ratePerSec: config.ratePerSec, payloadBytes: config.payloadBytes },
      'published',
      publishBudgetMs,
    ));
    const delivered = await guard.step(
      load.request({ type: 'expect', events: published.events, timeoutMs: 120_000 }, 'delivered', 130_000),
    );
    const wallMs = Date.now() - wallBefore;
    const ticksAfter = ticks();
    const cpu = (i: number): number => ((ticksAfter[i] ?? 0) - (ticksBefore[i] ?? 0)) / (wallMs / 10);
    const elapsedMs = delivered.lastDeliveryAt - published.firstAt;
    return {
      deliveriesPerSec: (delivered.deliveries / elapsedMs) * 1000,
      deliveries: delivered.deliveries,
      elapsedMs,
      publishMs: published.lastAt - published.firstAt,
      p50Ms: delivered.p50Ms,
      p99Ms: delivered.p99Ms,
      maxMs: delivered.maxMs,
      nodeBP50Ms: delivered.nodeBP50Ms,
      nodeBP99Ms: delivered.nodeBP99Ms,
      subscribeMs,
      cpuNodeA: cpu(0),
      cpuNodeB: cpu(1),
      cpuLoad: cpu(2),
    };
  } finally {
    await Promise.all([...nodes.map((node) => node.stop({ type: 'stop' }, 3000)), load?.stop({ type: 'stop' }, 3000)]);
    await deleteKeys(config.redisUrl, `${prefix}*`).catch((error: unknown) => {
      console.error(`could not delete ${prefix}* keys: ${String(error)}`);
    });
  }
}

const int0 = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const dec1 = new Intl.NumberFormat('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const pct = (share: number): string => `${Math.round(share * 100)}%`;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? NaN) : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
}

function loadLine(): string {
  const [one, five, fifteen] = os.loadavg().map((value) => value.toFixed(2));
  return `load average ${one}, ${five}, ${fifteen} on ${os.cpus().length} CPUs`;
}

function printTable(config: RedisConfig, results: Map<RedisImplName, RedisRun[]>): void {
  const rows: [string, (r: RedisRun) => number, (v: number) => string][] = [
    ['delivered msgs/s ↑', (r) => r.deliveriesPerSec, (v) => int0.format(v)],
    ['publish→deliver p50, ms ↓', (r) => r.p50Ms, (v) => dec1.format(v)],
    ['publish→deliver p99, ms ↓', (r) => r.p99Ms, (v) => dec1.format(v)],
    ['publish→deliver max, ms ↓', (r) => r.maxMs, (v) => dec1.format(v)],
    ['  node B only (via Redis) p50, ms ↓', (r) => r.nodeBP50Ms, (v) => dec1.format(v)],
    ['  node B only (via Redis) p99, ms ↓', (r) => r.nodeBP99Ms, (v) => dec1.format(v)],
    ['connect + subscribe, ms ↓', (r) => r.subscribeMs, (v) => int0.format(v)],
  ];
  const impls = config.impls;
  const header = ['Redis fan-out', ...impls, ...(impls.length === 2 ? ['ratio (lanyard/socketio)'] : [])];
  const body = rows.map(([label, pick, format]) => {
    const medians = impls.map((impl) => median((results.get(impl) ?? []).map(pick)));
    const ratio = impls.length === 2 ? [`${((medians[0] ?? NaN) / (medians[1] ?? NaN)).toFixed(2)}×`] : [];
    return [label, ...medians.map(format), ...ratio];
  });
  const widths = header.map((_, col) => Math.max(...[header, ...body].map((line) => (line[col] ?? '').length)));
  const render = (line: string[]): string =>
    line.map((text, col) => (col === 0 ? text.padEnd(widths[col] ?? 0) : text.padStart(widths[col] ?? 0))).join(' | ');
  console.log(render(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
  for (const line of body) console.log(render(line));
}

/** Runs the scenario and prints the per-run lines and the table; throws on any failure. */
export async function runRedisBench(): Promise<void> {
  const config = readRedisConfig();
  // Fail early, with a clear message, when Redis does not answer.
  const probe = createClient({ url: config.redisUrl, socket: { connectTimeout: 3000, reconnectStrategy: false } });
  await probe.connect().catch((error: unknown) => {
    throw new Error(`Redis at ${config.redisUrl} does not answer (set BENCH_REDIS_URL): ${String(error)}`);
  });
  await probe.quit();
  const subscribers = 2 * config.subscribersPerNode;
  console.log('trpc-lanyard bench: fan-out through Redis');
  console.log(`node ${process.version}; Redis ${config.redisUrl}; ${loadLine()} (at start)`);
  console.log(
    `2 nodes × ${config.subscribersPerNode} subscribers on one channel; node A publishes ${config.events} messages ` +
      `at ${config.ratePerSec}/s (${config.payloadBytes}-byte text field), offered ${int0.format(subscribers * config.ratePerSec)} deliveries/s; ` +
      `${config.runs} run(s) per implementation, fresh processes per run`,
  );
  console.log('');
  const results = new Map<RedisImplName, RedisRun[]>(config.impls.map((impl) => [impl, []]));
  for (let run = 1; run <= config.runs; run++) {
    const order = run % 2 === 1 ? config.impls : [...config.impls].reverse();
    for (const impl of order) {
      const runId = `${process.pid}-${Date.now().toString(36)}-${impl}-${run}`;
      const r = await runOnce(config, impl, runId);
      results.get(impl)?.push(r);
      console.log(
        `redis ${impl.padEnd(8)} run ${run}/${config.runs}: ${int0.format(r.deliveriesPerSec)} msgs/s delivered ` +
          `(${int0.format(r.deliveries)} in ${int0.format(r.elapsedMs)} ms, published in ${int0.format(r.publishMs)} ms); ` +
          `p50 ${dec1.format(r.p50Ms)} ms, p99 ${dec1.format(r.p99Ms)} ms, max ${dec1.format(r.maxMs)} ms ` +
          `(node B p50 ${dec1.format(r.nodeBP50Ms)}, p99 ${dec1.format(r.nodeBP99Ms)}); ` +
          `CPU node A ${pct(r.cpuNodeA)}, node B ${pct(r.cpuNodeB)}, load ${pct(r.cpuLoad)}; ${loadLine()}`,
      );
    }
  }
  console.log('');
  printTable(config, results);
  console.log(`${loadLine()} (at end). Other work on the machine skews these numbers: compare ratios, rerun before trusting.`);
}
