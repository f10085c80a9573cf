/**
 * The gateway example as a user runs it: the API process (HTTP, publishes to Redis) and the
 * uWebSockets.js gateway (subscriptions only, fed by Redis) as two processes through tsx, and the
 * client, which signs in at the API, posts there and receives its post from the gateway. Tokens of
 * 2 s and a client that stays 4 s: the gateway refreshes them in band on the client's one socket.
 */
import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { findRedis, uniquePrefix } from '../fixtures/redis.js';
import type { TsxRun } from '../fixtures/tsx.js';
import { runTsx } from '../fixtures/tsx.js';

// Loud when missing (and throws under CI=true): see test/fixtures/redis.ts.
const redis = await findRedis();
const running: ChildProcess[] = [];

function run(file: string, args: string[], env: Record<string, string>): TsxRun {
  const started = runTsx(file, args, env);
  running.push(started.child);
  return started;
}

async function listening(process: TsxRun, pattern: RegExp): Promise<string> {
  await expect.poll(() => pattern.exec(process.output()), { timeout: 30_000, interval: 50 }).not.toBeNull();
  return pattern.exec(process.output())?.[1] ?? '';
}

afterEach(() => {
  for (const child of running.splice(0)) if (child.exitCode === null) child.kill('SIGTERM');
});

describe.skipIf(redis === null)('the gateway example (uWebSockets.js gateway fed by Redis, API over HTTP)', () => {
  it('delivers a post made at the API through the gateway, and refreshes the token in band on one socket', async () => {
    const env = { REDIS_URL: redis!.url, GATEWAY_PREFIX: uniquePrefix('gateway-example'), TOKEN_MS: '2000' };
    const api = run('examples/gateway/api.ts', [], { ...env, API_PORT: '0' });
    const gateway = run('examples/gateway/gateway.ts', [], { ...env, GATEWAY_PORT: '0' });
    const apiUrl = await listening(api, /api listening on (http:\/\/\S+)/);
    const gatewayUrl = await listening(gateway, /gateway listening on (ws:\/\/\S+)/);

    const client = run('examples/gateway/client.ts', ['Alice', 'hello through the gateway'], {
      ...env,
      API_URL: apiUrl,
      GATEWAY_URL: gatewayUrl,
      STAY_MS: '4000',
    });
    expect(await client.exited).toBe(0);
    const out = client.output();
    expect(out).toMatch(/\[[^\]]+\] Alice: hello through the gateway/);
    const stats = /(\d+) socket\(s\) opened to the gateway, (\d+) in-band refresh\(es\)/.exec(out);
    expect(stats?.[1]).toBe('1');
    expect(Number(stats?.[2])).toBeGreaterThanOrEqual(1);
  }, 60_000);
});
