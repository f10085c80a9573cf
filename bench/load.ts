/**
 * Load process: all the clients of one kind (BENCH_CLIENT: stock, lanyard, ws or raw).
 * Started by run.ts with `node --import tsx bench/load.ts`.
 */
import { rawProtocolDriver, rawWsDriver } from './clients/raw.js';
import { trpcDriver } from './clients/trpc.js';
import type { CallLoop, LoadDriver } from './clients/types.js';
import { withTimeout } from './clients/types.js';
import { loadClientImpl } from './impls/index.js';
import { now } from './lib/config.js';
import { createChannel, hasWindowStart, markWindow } from './lib/ipc.js';
import { cpuSample } from './lib/messages.js';
import type { LoadCommand, LoadReply } from './lib/messages.js';
import { percentile } from './lib/stats.js';

async function driverFromEnv(): Promise<LoadDriver> {
  const kind = process.env['BENCH_CLIENT'];
  switch (kind) {
    case 'stock':
    case 'lanyard':
      return trpcDriver(await loadClientImpl(kind));
    case 'ws':
      return rawWsDriver;
    case 'raw':
      return rawProtocolDriver;
    default:
      throw new Error(`BENCH_CLIENT: unknown ${String(kind)}`);
  }
}

const driver = await driverFromEnv();

// ---------------------------------------------------------------- fan-out

const fanout = {
  subscribers: 0,
  delivered: 0,
  lastDeliveryAt: 0,
  /** Events each subscriber must get; known once the server stopped publishing. */
  expectedEvents: -1,
  onComplete: undefined as (() => void) | undefined,
};

async function fanoutSubscribe(
  url: string,
  subscribers: number,
  batch: number,
  timeoutMs: number,
  procedure: 'onEvent' | 'onStream',
): Promise<number> {
  const started = now();
  let subscribed = 0;
  for (let first = 0; first < subscribers; first += batch) {
    const pending: Promise<void>[] = [];
    for (let index = first; index < Math.min(first + batch, subscribers); index++) {
      pending.push(driver.subscribe(url, index, procedure, subscriberCheck(index), channel.fail));
    }
    await withTimeout(Promise.all(pending), timeoutMs, () => `${subscribed} of ${subscribers} subscriptions started`);
    subscribed += pending.length;
  }
  fanout.subscribers = subscribers;
  return now() - started;
}

/** Every subscriber must get every event once, in seq order. */
function subscriberCheck(index: number): (seq: number) => void {
  let nextSeq = 0;
  return (seq) => {
    if (seq !== nextSeq) channel.fail(new Error(`subscriber ${index}: got seq ${seq}, expected ${nextSeq}`));
    nextSeq++;
    fanout.delivered++;
    fanout.lastDeliveryAt = now();
    if (fanout.expectedEvents >= 0) {
      if (nextSeq > fanout.expectedEvents) {
        channel.fail(new Error(`subscriber ${index}: ${nextSeq} events, only ${fanout.expectedEvents} published`));
      }
      if (fanout.delivered === fanout.subscribers * fanout.expectedEvents) fanout.onComplete?.();
    }
  };
}

async function fanoutExpect(events: number, timeoutMs: number): Promise<void> {
  const target = fanout.subscribers * events;
  const done = new Promise<void>((resolve) => {
    fanout.onComplete = resolve;
  });
  fanout.expectedEvents = events;
  if (fanout.delivered === target) fanout.onComplete?.();
  if (fanout.delivered > target) throw new Error(`delivered ${fanout.delivered} > ${target}`);
  await withTimeout(done, timeoutMs, () => `${fanout.delivered} of ${target} events delivered`);
  markWindow('to');
  channel.send({
    type: 'fanout-done',
    deliveries: fanout.delivered,
    lastDeliveryAt: fanout.lastDeliveryAt,
    cpu: cpuSample(now()),
  });
}

// ------------------------------------------------------------------ calls

let callLoop: CallLoop | undefined;

// ---------------------------------------------------------------- connect

async function connectAll(url: string, connections: number, timeoutMs: number): Promise<void> {
  const connectAndCall = driver.connectAndCall;
  if (connectAndCall === undefined) throw new Error(`BENCH_CLIENT ${String(process.env['BENCH_CLIENT'])} cannot connect with a token`);
  markWindow('from');
  const latencies: number[] = [];
  const firstAt = now();
  const pending = Array.from({ length: connections }, async (_, index) => {
    const start = now();
    await connectAndCall(url, index);
    latencies.push(now() - start);
  });
  await withTimeout(Promise.all(pending), timeoutMs, () => `${latencies.length} of ${connections} clients answered`);
  const totalMs = now() - firstAt;
  markWindow('to');
  channel.send({
    type: 'connect-done',
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: percentile(latencies, 100),
    totalMs,
  });
}

// ------------------------------------------------------------------- main

const channel = createChannel<LoadCommand, LoadReply>('load', async (command) => {
  switch (command.type) {
    case 'fanout-subscribe': {
      const { url, subscribers, batch, timeoutMs, procedure } = command;
      const ms = await fanoutSubscribe(url, subscribers, batch, timeoutMs, procedure);
      channel.send({ type: 'subscribed', ms });
      return;
    }
    case 'fanout-expect':
      await fanoutExpect(command.events, command.timeoutMs);
      return;
    case 'calls-start':
      callLoop = await withTimeout(driver.startCalls(command.url, command.inflight, channel.fail), command.timeoutMs, () => 'first call');
      channel.send({ type: 'calls-started' });
      return;
    case 'calls-stop': {
      if (callLoop === undefined) throw new Error('calls-stop before calls-start');
      const calls = await callLoop.stop(command.timeoutMs);
      channel.send({ type: 'calls-done', calls });
      return;
    }
    case 'connect':
      await connectAll(command.url, command.connections, command.timeoutMs);
      return;
    case 'cpu':
      markWindow(hasWindowStart() ? 'to' : 'from');
      channel.send({ type: 'cpu', ...cpuSample(now()) });
      return;
    case 'stop':
      process.exit(0);
  }
});
channel.send({ type: 'ready' });
