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

export interface MemSample {
  heapUsed: number;
  rss: number;
  /** Sockets the server currently holds. */
  clients: number;
}

export type ServerCommand =
  | { type: 'mem' }
  | { type: 'cpu' }
  | { type: 'publish'; durationMs: number; maxEvents: number; burst: number }
  | { type: 'stop' };

export type ServerReply =
  | { type: 'ready'; port: number }
  | ({ type: 'mem' } & MemSample)
  | ({ type: 'cpu' } & CpuSample)
  | { type: 'published'; events: number; firstAt: number; lastAt: number; cpuAtStart: CpuSample }
  | { type: 'error'; message: string };

export type LoadCommand =
  | { type: 'fanout-subscribe'; url: string; subscribers: number; batch: number; timeoutMs: number }
  | { type: 'fanout-expect'; events: number; timeoutMs: number }
  | { type: 'roundtrip'; url: string; warmupMs: number; durationMs: number; inflight: number }
  | { type: 'cpu' }
  | { type: 'stop' };

export type LoadReply =
  | { type: 'ready' }
  | { type: 'subscribed'; ms: number }
  | { type: 'fanout-done'; deliveries: number; lastDeliveryAt: number; cpu: CpuSample }
  | { type: 'roundtrip-done'; calls: number; elapsedMs: number; cpuFrom: CpuSample; cpuTo: CpuSample }
  | ({ type: 'cpu' } & CpuSample)
  | { type: 'error'; message: string };

export function cpuSample(at: number): CpuSample {
  const usage = process.cpuUsage();
  return { at, cpuUs: usage.user + usage.system };
}
