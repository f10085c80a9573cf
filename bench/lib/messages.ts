/**
 * IPC messages between the orchestrator (`run.ts`) and its two children.
 * Every child sends `{ type: 'ready' }` once it listens for commands, and
 * `{ type: 'error' }` when anything fails; the orchestrator then aborts the run.
 */

export interface CpuSample {
  /** `now()` when the sample was taken. */
  at: number;
  /** User + system CPU time of the process, in microseconds. */
  cpuUs: number;
}

export interface ServerSample extends CpuSample {
  /** `echo` calls the server has run so far. */
  calls: number;
}

export interface MemSample {
  heapUsed: number;
  rss: number;
  /** Sockets the server currently holds. */
  clients: number;
}

export interface PublishCommand {
  type: 'publish';
  durationMs: number;
  maxEvents: number;
  /** Events per event-loop turn. */
  burst: number;
  /** `Object.freeze` each event (one object for all subscribers either way). */
  frozen: boolean;
}

export type ServerCommand = { type: 'mem' } | { type: 'sample' } | PublishCommand | { type: 'stop' };

export type ServerReply =
  | { type: 'ready'; port: number }
  | ({ type: 'mem' } & MemSample)
  | ({ type: 'sample' } & ServerSample)
  | { type: 'published'; events: number; turns: number; firstAt: number; lastAt: number; cpuAtStart: CpuSample }
  | { type: 'error'; message: string };

export interface ConnectSummary {
  /** Connect + auth + first call, per client, in ms. */
  p50: number;
  p99: number;
  max: number;
  /** First client created → last first call answered. */
  totalMs: number;
}

export type LoadCommand =
  | { type: 'fanout-subscribe'; url: string; subscribers: number; batch: number; timeoutMs: number; procedure: 'onEvent' | 'onStream' }
  | { type: 'fanout-expect'; events: number; timeoutMs: number }
  | { type: 'calls-start'; url: string; inflight: number; timeoutMs: number }
  | { type: 'calls-stop'; timeoutMs: number }
  | { type: 'connect'; url: string; connections: number; timeoutMs: number }
  | { type: 'cpu' }
  | { type: 'stop' };

export type LoadReply =
  | { type: 'ready' }
  | { type: 'subscribed'; ms: number }
  | { type: 'fanout-done'; deliveries: number; lastDeliveryAt: number; cpu: CpuSample }
  | { type: 'calls-started' }
  | { type: 'calls-done'; calls: number }
  | ({ type: 'connect-done' } & ConnectSummary)
  | ({ type: 'cpu' } & CpuSample)
  | { type: 'error'; message: string };

export function cpuSample(at: number): CpuSample {
  const usage = process.cpuUsage();
  return { at, cpuUs: usage.user + usage.system };
}
