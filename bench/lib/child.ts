/**
 * The orchestrator side of a child process: typed request/reply over IPC,
 * every wait bounded by a timeout, and a registry so that no child outlives
 * the run (whatever way it ends).
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { processCpuTicks } from './machine.js';

const live = new Set<ChildProcess>();
let usedTicks = 0;

/** CPU clock ticks used by all children stopped so far (see `Child.cpuTicks`). */
export function childCpuTicks(): number {
  return usedTicks;
}

function killAll(): void {
  for (const proc of live) proc.kill('SIGKILL');
  live.clear();
}

process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    killAll();
    process.exit(130);
  });
}

interface Waiter {
  type: string;
  resolve: (message: never) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export interface SpawnOptions {
  name: string;
  script: string;
  env: Record<string, string>;
  nodeArgs: string[];
  cwd: string;
}

export class Child<TCommand, TReply extends { type: string }> {
  readonly name: string;
  private readonly proc: ChildProcess;
  private readonly inbox: TReply[] = [];
  private readonly waiters: Waiter[] = [];
  private failure: Error | undefined;
  private readonly exited: Promise<void>;

  constructor(options: SpawnOptions) {
    this.name = options.name;
    this.proc = fork(options.script, [], {
      cwd: options.cwd,
      execArgv: ['--import', 'tsx', ...options.nodeArgs],
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    live.add(this.proc);
    this.exited = new Promise((resolve) => {
      this.proc.once('exit', (code, signal) => {
        live.delete(this.proc);
        this.fail(new Error(`${this.name} exited (code ${code}, signal ${signal})`));
        resolve();
      });
    });
    this.proc.on('error', (error) => this.fail(new Error(`${this.name}: ${error.message}`)));
    this.proc.on('message', (raw) => this.receive(raw as TReply));
  }

  send(command: TCommand): void {
    if (this.failure) throw this.failure;
    this.proc.send(command as object);
  }

  /** The next reply of `type` (buffered replies count), or a rejection on timeout, error or exit. */
  waitFor<K extends TReply['type']>(type: K, timeoutMs: number): Promise<Extract<TReply, { type: K }>> {
    const index = this.inbox.findIndex((message) => message.type === type);
    if (index >= 0) {
      const [message] = this.inbox.splice(index, 1);
      return Promise.resolve(message as Extract<TReply, { type: K }>);
    }
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        type,
        resolve: resolve as (message: never) => void,
        reject,
        timer: setTimeout(() => {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          reject(new Error(`${this.name}: no '${type}' within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  request<K extends TReply['type']>(command: TCommand, type: K, timeoutMs: number): Promise<Extract<TReply, { type: K }>> {
    const reply = this.waitFor(type, timeoutMs);
    this.send(command);
    return reply;
  }

  /** CPU time the child used so far, in clock ticks, from /proc (Linux); 0 when unavailable. */
  cpuTicks(): number {
    return processCpuTicks(this.proc.pid);
  }

  /** Sends `stop` and waits for a clean exit (so profiles get written); kills after `graceMs`. */
  async stop(stopCommand: TCommand, graceMs = 5000): Promise<void> {
    usedTicks += this.cpuTicks();
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      this.failure ??= new Error(`${this.name} stopped`);
      if (this.proc.connected) this.proc.send(stopCommand as object);
      const timer = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
  }

  private receive(message: TReply): void {
    if (message.type === 'error') {
      const text = (message as { message?: unknown }).message;
      this.fail(new Error(`${this.name} failed: ${String(text)}`));
      return;
    }
    const index = this.waiters.findIndex((waiter) => waiter.type === message.type);
    if (index < 0) {
      this.inbox.push(message);
      return;
    }
    const [waiter] = this.waiters.splice(index, 1);
    if (waiter) {
      clearTimeout(waiter.timer);
      waiter.resolve(message as never);
    }
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiter of this.waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(this.failure);
    }
  }
}
