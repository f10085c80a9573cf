/** Frame size limits are enforced while a frame is received, not after `ws` buffered all of it. */
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { CloseCode } from '../../src/protocol/closeCodes.js';
import { createTestRouter } from '../fixtures/router.js';
import { forId } from '../fixtures/rawClient.js';
import type { RawClient } from '../fixtures/rawClient.js';
import { useRawServer } from '../fixtures/rawHarness.js';

const raw = useRawServer();

/**
 * Writes only the start of a masked text frame that announces `announcedBytes`: the header and
 * `sentBytes` of payload, never the rest. A server that waits for the whole frame never answers.
 */
function startHugeFrame(client: RawClient, announcedBytes: number, sentBytes: number): void {
  const header = Buffer.alloc(14);
  header[0] = 0x81; // FIN, text
  header[1] = 0x80 | 127; // masked, 64-bit length
  header.writeBigUInt64BE(BigInt(announcedBytes), 2);
  // Bytes 10–13: a zero mask key, so the payload goes as it is.
  const tcp = (client.ws as unknown as { _socket: Socket })._socket;
  tcp.write(Buffer.concat([header, Buffer.alloc(sentBytes, 0x20)]));
}

describe('an oversize frame is refused from its header', () => {
  it('closes with 4413 after authentication when a frame announces 48 MiB, having read only its start', async () => {
    await raw.start({ router: createTestRouter().router });
    const client = await raw.connect();
    client.send({ id: 1, method: 'query', params: { path: 'echo', input: 'ready' } });
    await client.next(forId(1));
    startHugeFrame(client, 48 * 2 ** 20, 64 * 1024);
    expect(await client.closed).toEqual({ code: CloseCode.PayloadTooLarge, reason: 'frame exceeds 1048576 bytes' });
  });

  it('applies the 16 KiB pre-auth limit the same way while authenticate runs', async () => {
    const errors: string[] = [];
    await raw.start({ router: createTestRouter().router, authenticate: () => new Promise<never>(() => {}), onError: ({ error }) => errors.push(error.message) });
    const client = await raw.connect();
    startHugeFrame(client, 20_000, 1_000);
    expect(await client.closed).toEqual({ code: CloseCode.PayloadTooLarge, reason: 'frame exceeds 16384 bytes' });
    expect(errors).toEqual([]);
  });

  it('raises the limit once the connection is authenticated', async () => {
    let accept!: () => void;
    await raw.start({ router: createTestRouter().router, authenticate: () => new Promise<object>((resolve) => (accept = () => resolve({}))) });
    const client = await raw.connect();
    client.send({ id: 1, method: 'query', params: { path: 'echo', input: 'small' } });
    await expect.poll(() => typeof accept).toBe('function');
    accept();
    await client.next(forId(1));
    const big = 'x'.repeat(200_000);
    client.send({ id: 2, method: 'query', params: { path: 'echo', input: big } });
    expect(await client.next(forId(2))).toMatchObject({ result: { data: big } });
  });

  it('never raises a socket above the WebSocketServer\'s own maxPayload', async () => {
    const server = await raw.start({ router: createTestRouter().router });
    (server.wss.options as { maxPayload: number }).maxPayload = 4096;
    const client = await raw.connect();
    client.sendText(JSON.stringify({ id: 1, method: 'query', params: { path: 'echo', input: 'x'.repeat(5000) } }));
    expect(await client.closed).toEqual({ code: CloseCode.PayloadTooLarge, reason: 'frame exceeds 4096 bytes' });
  });
});
