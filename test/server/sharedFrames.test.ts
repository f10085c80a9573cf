/**
 * A frame several sockets share (same event, same request id) is written to each as one prepared
 * buffer, header included, instead of `ws` framing it per socket. The bytes must be exactly what
 * `ws` would send, and with permessage-deflate every frame must still go through `ws`.
 */
import { EventEmitter, on } from 'node:events';
import type { AddressInfo, Socket } from 'node:net';
import { initTRPC } from '@trpc/server';
import { afterEach, describe, expect, it } from 'vitest';
import * as wsModule from 'ws';
import WebSocket, { WebSocketServer } from 'ws';
import { textFrame } from '../../src/adapters/ws/wireFrame.js';
import { CloseCode } from '../../src/protocol/closeCodes.js';
import { applyWSSHandler } from '../../src/server/index.js';

/** ws's own framing (exported by ws, not in its type definitions). */
const { Sender } = wsModule as unknown as { Sender: { frame(data: Buffer, options: Record<string, unknown>): Buffer[] } };

describe('a prepared text frame', () => {
  it('is byte for byte what ws frames, at every length-field boundary', () => {
    for (const length of [0, 1, 125, 126, 127, 65_535, 65_536, 70_000]) {
      const payload = Buffer.alloc(length, 0x61);
      const theirs = Buffer.concat(Sender.frame(payload, { fin: true, opcode: 1, mask: false, readOnly: false, rsv1: false }));
      expect(textFrame(payload).equals(theirs), `length ${length}`).toBe(true);
    }
  });

  it('is made once per payload', () => {
    const payload = new TextEncoder().encode('{"a":1}');
    expect(textFrame(payload)).toBe(textFrame(payload));
  });
});

interface Served {
  url: string;
  wss: WebSocketServer;
  emit(event: unknown): void;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function serve(perMessageDeflate: boolean, maxBufferedBytes?: number): Promise<Served> {
  const t = initTRPC.create();
  const ee = new EventEmitter();
  ee.setMaxListeners(0);
  const router = t.router({
    events: t.procedure.subscription(async function* ({ signal }) {
      for await (const [event] of on(ee, 'event', { signal }) as AsyncIterable<[unknown]>) yield event;
    }),
  });
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate });
  await new Promise<void>((resolve) => wss.once('listening', resolve));
  const handler = applyWSSHandler({ wss, router, ...(maxBufferedBytes === undefined ? {} : { maxBufferedBytes }) });
  cleanups.push(async () => {
    handler.close();
    for (const client of wss.clients) client.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  });
  return { url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, wss, emit: (event) => ee.emit('event', event) };
}

/** Opens `count` clients, each subscribed with id 1 (as stock clients' counters give), and collects their event payloads. */
async function subscribers(served: Served, count: number, perMessageDeflate: boolean) {
  const received: unknown[][] = [];
  const clients: WebSocket[] = [];
  for (let i = 0; i < count; i++) {
    const ws = new WebSocket(served.url, { perMessageDeflate });
    const mine: unknown[] = [];
    received.push(mine);
    clients.push(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('error', reject);
      ws.on('message', (data) => {
        const frame = JSON.parse(String(data)) as { result: { type: string; data?: unknown } };
        if (frame.result.type === 'started') resolve();
        else if (frame.result.type === 'data') mine.push(frame.result.data);
      });
      ws.once('open', () => ws.send(JSON.stringify({ id: 1, method: 'subscription', params: { path: 'events' } })));
    });
    cleanups.push(async () => ws.terminate());
  }
  return { received, clients };
}

/** The first byte of every chunk the server's TCP socket `tcp` writes from now on, and its length. */
function recordChunks(tcp: Socket): Array<{ first: number; length: number }> {
  const chunks: Array<{ first: number; length: number }> = [];
  const note = (chunk: unknown) => {
    if (Buffer.isBuffer(chunk) && chunk.length > 0) chunks.push({ first: chunk[0]!, length: chunk.length });
  };
  const writev = tcp._writev!.bind(tcp);
  const write = tcp._write.bind(tcp);
  tcp._writev = (list, callback) => {
    for (const entry of list) note(entry.chunk);
    writev(list, callback);
  };
  tcp._write = (chunk, encoding, callback) => {
    note(chunk);
    write(chunk, encoding, callback);
  };
  return chunks;
}

const events = [{ n: 1 }, { n: 2, text: 'x'.repeat(100) }, { n: 3, text: 'y'.repeat(200) }, { n: 4, text: 'z'.repeat(70_000) }];
const jsonBytes = (value: unknown) => Buffer.byteLength(JSON.stringify({ id: 1, result: { type: 'data', data: value } }));

/**
 * Three subscribers (so the third shares every frame with the first two) get `events`; returns
 * what the server's socket to the third wrote, after checking every subscriber got them all.
 */
async function deliverToThree(perMessageDeflate: boolean) {
  const served = await serve(perMessageDeflate);
  const { received } = await subscribers(served, 3, perMessageDeflate);
  const tcp = ([...served.wss.clients][2] as unknown as { _socket: Socket })._socket;
  const chunks = recordChunks(tcp);
  for (const event of events) served.emit(event);
  await expect.poll(() => received.every((mine) => mine.length === events.length)).toBe(true);
  for (const mine of received) expect(mine).toEqual(events);
  return chunks;
}

describe('events shared by several sockets', () => {
  it('reach every subscriber intact, each written as one buffer holding header and payload', async () => {
    const chunks = await deliverToThree(false);
    const frames = chunks.filter((chunk) => chunk.first === 0x81);
    expect(frames.map((frame) => frame.length)).toEqual(
      events.map((event) => {
        const payload = jsonBytes(event);
        return payload + (payload < 126 ? 2 : payload <= 0xffff ? 4 : 10);
      }),
    );
  });

  it('still go through ws, compressed, when the socket negotiated permessage-deflate', async () => {
    const chunks = await deliverToThree(true);
    // ws writes its own headers (RSV1 set: 0xc1) and never our uncompressed frame.
    expect(chunks.some((chunk) => chunk.first === 0xc1)).toBe(true);
    expect(chunks.some((chunk) => chunk.first === 0x81 && chunk.length > 10)).toBe(false);
  });

  it('still close with SlowConsumer (4507) a subscriber that stops reading, while the one sharing its frames gets every event', async () => {
    const served = await serve(false, 200_000);
    const { received, clients } = await subscribers(served, 2, false);
    const [reading, stalled] = clients as [WebSocket, WebSocket];
    const stalledOnServer = [...served.wss.clients][1]!; // clients connect one after the other
    const closed = new Promise<number>((resolve) => stalled.once('close', (code: number) => resolve(code)));
    // The second client stops reading: what the server writes to it piles up in its send buffer.
    const stalledTcp = (stalled as unknown as { _socket: Socket })._socket;
    stalledTcp.pause();
    const pad = 'p'.repeat(1_000);
    let emitted = 0;
    // Shared 1 KB events, 200 a turn, until the server cuts the stalled client off (at most 20 MB).
    while (stalledOnServer.readyState === WebSocket.OPEN && emitted < 20_000) {
      for (let i = 0; i < 200; i++) served.emit({ n: emitted++, pad });
      await new Promise((resolve) => setImmediate(resolve));
    }
    stalledTcp.resume();
    expect(await closed).toBe(CloseCode.SlowConsumer);
    expect(reading.readyState).toBe(WebSocket.OPEN);
    await expect.poll(() => received[0]!.length, { timeout: 10_000 }).toBe(emitted);
    expect((received[0] as Array<{ n: number }>).map((event) => event.n)).toEqual(Array.from({ length: emitted }, (_, n) => n));
  });
});
