import { afterEach, expect, it } from 'vitest';
import { makeClient } from '../fixtures/clients.js';
import type { TestClient } from '../fixtures/clients.js';
import { createTestRouter } from '../fixtures/router.js';
import type { RunningServer } from '../fixtures/servers.js';
import { startServer } from '../fixtures/servers.js';

let server: RunningServer | undefined;
let client: TestClient | undefined;
afterEach(async () => {
  await client?.close();
  await server?.close();
});

async function setup(maxPayloadBytes: number) {
  server = await startServer('lanyard', { router: createTestRouter().router, maxPayloadBytes });
  const frames: number[] = [];
  server.sockets.onOpen((socket) => socket.onMessage((data) => frames.push(data.byteLength)));
  client = makeClient('lanyard', { url: server.url });
  await client.trpc.echo.query('warm-up'); // the hello has arrived: the client knows the limit
  return { trpc: client.trpc, frames };
}

it('fails a call larger than the server accepts with PAYLOAD_TOO_LARGE, without sending it or losing the socket', async () => {
  const { trpc, frames } = await setup(4096);
  const sockets = server!.sockets.open.length;
  await expect(trpc.echo.query('x'.repeat(5000))).rejects.toMatchObject({
    data: { code: 'PAYLOAD_TOO_LARGE', httpStatus: 413 },
    message: "Request exceeds the server's limit of 4096 bytes per frame; it was not sent",
  });
  expect(frames.every((bytes) => bytes <= 4096)).toBe(true);
  expect(await trpc.echo.query('still open')).toBe('still open');
  expect(server!.sockets.open.length).toBe(sockets);
});

it('counts UTF-8 bytes, not characters, against the limit', async () => {
  const { trpc } = await setup(4096);
  await expect(trpc.echo.query('é'.repeat(2100))).rejects.toMatchObject({ data: { code: 'PAYLOAD_TOO_LARGE' } });
  expect(await trpc.echo.query('é'.repeat(1900))).toBe('é'.repeat(1900));
});

it('splits a burst that would exceed the limit into frames that fit', async () => {
  const { trpc, frames } = await setup(4096);
  const inputs = Array.from({ length: 12 }, (_, i) => `${i}`.padEnd(1000, '.'));
  expect(await Promise.all(inputs.map((input) => trpc.echo.query(input)))).toEqual(inputs);
  expect(frames.length).toBeGreaterThanOrEqual(4);
  expect(Math.max(...frames)).toBeLessThanOrEqual(4096);
});
