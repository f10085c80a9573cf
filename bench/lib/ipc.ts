/**
 * The child side of the IPC channel: typed send, fatal-error reporting, and
 * exiting when the orchestrator goes away so nothing is ever left behind.
 */
import { writeFileSync } from 'node:fs';
import { inspect } from 'node:util';

export function createChannel<TCommand extends { type: string }, TReply extends { type: string }>(
  name: string,
  onCommand: (command: TCommand) => void | Promise<void>,
): { send: (reply: TReply) => void; fail: (error: unknown) => never } {
  const send = (reply: TReply): void => {
    if (process.send === undefined) throw new Error(`${name} must be started by bench/run.ts (no IPC channel)`);
    process.send(reply);
  };
  let failed = false;
  const fail = (error: unknown): never => {
    // Report the first failure only: one broken run can raise thousands of them.
    if (failed) throw error;
    failed = true;
    const message = error instanceof Error ? (error.stack ?? error.message) : inspect(error);
    console.error(`[${name}] ${message}`);
    try {
      send({ type: 'error', message } as unknown as TReply);
    } finally {
      // Give the IPC message a moment to leave, then go.
      setTimeout(() => process.exit(1), 200).unref();
    }
    throw error;
  };

  if (process.send === undefined) {
    console.error(`${name} must be started by bench/run.ts (no IPC channel)`);
    process.exit(2);
  }
  process.on('disconnect', () => process.exit(1));
  process.on('uncaughtException', (error) => {
    try {
      fail(error);
    } catch {
      // already reported
    }
  });
  process.on('unhandledRejection', (error) => {
    try {
      fail(error);
    } catch {
      // already reported
    }
  });
  process.on('message', (raw) => {
    const command = raw as TCommand;
    Promise.resolve()
      .then(() => onCommand(command))
      .catch((error: unknown) => {
        try {
          fail(error);
        } catch {
          // already reported
        }
      });
  });
  return { send, fail };
}

/** Microseconds on the monotonic clock that V8 CPU profiles use (on Linux). */
function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

const marks: { fromUs?: number; toUs?: number } = {};

/**
 * Records the start or end of the measured window. With BENCH_PROFILE_MARKS
 * set (run.ts does that when profiling), the window is written there on exit
 * so that profile-summary.ts can ignore start-up and connection set-up.
 */
export function markWindow(which: 'from' | 'to'): void {
  if (which === 'from') marks.fromUs = monotonicUs();
  else marks.toUs = monotonicUs();
}

export function hasWindowStart(): boolean {
  return marks.fromUs !== undefined;
}

const marksFile = process.env['BENCH_PROFILE_MARKS'];
if (marksFile !== undefined && marksFile !== '') {
  process.on('exit', () => {
    if (marks.fromUs !== undefined && marks.toUs !== undefined) {
      writeFileSync(marksFile, `${JSON.stringify(marks)}\n`);
    }
  });
}
