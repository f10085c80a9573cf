import { afterEach, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createTestRouter } from '../fixtures/router.js';
import type { RunningServer } from '../fixtures/servers.js';
import { startServer } from '../fixtures/servers.js';

/** A binary encoder: JSON as UTF-8 bytes in binary frames. */
const binaryJson = {
  encode: (data: unknown) => new TextEncoder().encode(JSON.stringify(data)),
  decode: (data: string | Uint8Array) => JSON.parse(typeof data === 'string' ? data : new TextDecoder().decode(data)) as unknown,
};

let server: RunningServer | undefined;
afterEach(async () => server?.close());

it('speaks experimental_encoder in binary frames, PING/PONG staying text', async () => {
  const fixture = createTestRouter();
  server = await startServer('lanyard', { router: fixture.router, experimental_encoder: binaryJson });
  const ws = new WebSocket(server.url);
  const frames: Array<{ binary: boolean; body: unknown }> = [];
  ws.on('message', (data, isBinary) => frames.push({ binary: isBinary, body: isBinary ? binaryJson.decode(data as Buffer) : data.toString() }));
  await new Promise((resolve) => ws.once('open', resolve));
  ws.send(binaryJson.encode([{ id: 1, method: 'query', params: { path: 'echo', input: 'bin' } }, { id: 2, method: 'subscription', params: { path: 'feed' } }]));
  ws.send('PING');
  await expect.poll(() => frames.length).toBe(3);
  fixture.publish('x');
  await expect.poll(() => frames.length).toBe(4);
  expect(frames).toContainEqual({ binary: true, body: { id: 1, result: { type: 'data', data: 'bin' } } });
  expect(frames).toContainEqual({ binary: true, body: { id: 2, result: { type: 'started' } } });
  expect(frames).toContainEqual({ binary: false, body: 'PONG' });
  expect(frames[3]).toEqual({ binary: true, body: { id: 2, result: { type: 'data', id: '1', data: { id: '1', data: { seq: 1, text: 'x' } } } } });
  ws.close();
});
