/**
 * `npm run example:server` and `npm run example:client`, as a user runs them: two processes
 * through tsx, the server on a free port with 2-second sessions, so the client staying 4 s sees
 * its session refreshed in band on its one socket.
 */
import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import type { TsxRun } from '../fixtures/tsx.js';
import { runTsx } from '../fixtures/tsx.js';

const running: ChildProcess[] = [];

/** Runs an example file as the package.json scripts do; collects its output. */
function runExample(file: string, args: string[], env: Record<string, string>): TsxRun {
  const run = runTsx(file, args, env);
  running.push(run.child);
  return run;
}

afterEach(() => {
  for (const child of running.splice(0)) if (child.exitCode === null) child.kill('SIGTERM');
});

describe('the Node example pair', () => {
  it('signs in through authenticate, posts, receives, and refreshes its session in band on one socket', async () => {
    const server = runExample('examples/node/server.ts', [], { PORT: '0', SESSION_MS: '2000' });
    await expect.poll(() => /listening on ws:\/\/localhost:(\d+)/.exec(server.output()), { timeout: 30_000, interval: 50 }).not.toBeNull();
    const port = /listening on ws:\/\/localhost:(\d+)/.exec(server.output())?.[1] ?? '';

    const client = runExample('examples/node/client.ts', ['Alice', 'hello there'], { PORT: port, STAY_MS: '4000' });
    expect(await client.exited).toBe(0);
    const out = client.output();
    expect(out).toMatch(/signed in as Alice until \d{4}-/);
    expect(out).toContain('Alice: hello there');
    const stats = /(\d+) socket\(s\) opened, (\d+) in-band refresh\(es\)/.exec(out);
    expect(stats?.[1]).toBe('1');
    expect(Number(stats?.[2])).toBeGreaterThanOrEqual(1);
    expect(server.output()).toContain('signed in Alice');
    expect(server.output()).toContain('refreshed Alice (was Alice)');
  }, 60_000);
});
