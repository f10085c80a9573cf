/**
 * How `npm start` listens: on 127.0.0.1 unless HOST says otherwise, and a taken port or a bad
 * setting is one line that says what to do, not a stack trace. Real sockets, a real child process.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import type { DemoServer } from '../../examples/demo/server/app.js';
import { startDemoServer } from '../../examples/demo/server/app.js';
import { optionsFromEnv } from '../../examples/demo/server/config.js';
import { runTsx } from '../fixtures/tsx.js';

/** Runs `npm start`'s entry point as `npm start` does; resolves with its exit code and output. */
async function runDemoMain(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const run = runTsx('examples/demo/main.ts', [], env);
  const code = await run.exited;
  return { code, output: run.output() };
}

/** A non-loopback IPv4 address of this machine, if it has one. */
const external = Object.values(networkInterfaces())
  .flatMap((addresses) => addresses ?? [])
  .find((address) => address.family === 'IPv4' && !address.internal)?.address;

/** `POST path` to `host:port` with an `Origin` header: the status, or the connection error's code. */
function post(host: string, port: number, path: string, origin: string): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request({ host, port, path, method: 'POST', headers: { origin } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    req.end();
  });
}

describe('npm start', () => {
  let blocker: Server | undefined;
  afterEach(async () => {
    await new Promise((resolve) => (blocker ? blocker.close(resolve) : resolve(undefined)));
    blocker = undefined;
  });

  it('answers a taken port with one line that names it and PORT, and no stack trace', async () => {
    blocker = createServer();
    await new Promise<void>((resolve) => blocker?.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as AddressInfo;

    const { code, output } = await runDemoMain({ PORT: String(port), HOST: '127.0.0.1' });
    expect(output).toContain(`port ${port} is taken, try PORT=${port + 1} npm start`);
    expect(output).not.toMatch(/^\s+at /m);
    expect(code).toBe(1);
  }, 60_000);

  it('answers a PORT that is not a port with one line, and no stack trace', async () => {
    const { code, output } = await runDemoMain({ PORT: '3000x' });
    expect(output).toContain('PORT must be');
    expect(output).not.toMatch(/^\s+at /m);
    expect(code).toBe(1);
  }, 60_000);
});

describe.skipIf(external === undefined)('the demo server’s interface', () => {
  let staticDir: string;
  let server: DemoServer | undefined;
  beforeAll(async () => {
    staticDir = await mkdtemp(join(tmpdir(), 'lanyard-demo-static-'));
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });
  afterAll(async () => {
    if (staticDir) await rm(staticDir, { recursive: true, force: true });
  });

  it('is 127.0.0.1 by default: the machine’s other addresses are refused', async () => {
    server = await startDemoServer(optionsFromEnv({ PORT: '0' }, staticDir));
    expect(await post('127.0.0.1', server.port, '/api/token', `http://127.0.0.1:${server.port}`)).toBe(401);
    expect(await post(external ?? '', server.port, '/api/token', `http://${external}:${server.port}`)).toBe('ECONNREFUSED');
    expect(server.host).toBe('127.0.0.1');
  });

  it('is every interface with HOST=0.0.0.0, and a page from the machine’s address may use the API', async () => {
    server = await startDemoServer(optionsFromEnv({ PORT: '0', HOST: '0.0.0.0' }, staticDir));
    expect(await post(external ?? '', server.port, '/api/token', `http://${external}:${server.port}`)).toBe(401); // not 403
    expect(await post(external ?? '', server.port, '/api/token', `http://evil.example:${server.port}`)).toBe(403);
  });
});
