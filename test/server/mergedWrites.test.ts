/**
 * The `ws` adapter's write path: what one event-loop turn sends a socket leaves in a few merged
 * writes, each capped, in order, and nothing held is lost or overtaken (close, slow reader).
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { initTRPC } from '@trpc/server';
import { observable } from '@trpc/server/observable';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { writeMergeLimits } from '../../src/adapters/ws/socket.js';
import { CloseCode } from '../../src/protocol/closeCodes.js';
import { createTestRouter } from '../fixtures/router.js';
import { forId } from '../fixtures/rawClient.js';
import { useRawServer } from '../fixtures/rawHarness.js';

const raw = useRawServer();

/** `burst` sends `count` events of `padBytes` each, synchronously, when the test emits 'go'; stops when unsubscribed. */
function burstRouter() {
  const t = initTRPC.create();
  const ee = new EventEmitter();
  let emitted = 0;
  const router = t.router({
    burst: t.procedure.subscription(() =>
      observable<{ seq: number; pad: string }>((emit) => {
        let stopped = false;
        const go = (count: number, padBytes: number) => {
          const pad = 'x'.repeat(padBytes);
          for (let seq = 0; seq < count && !stopped; seq++) {
            emitted++;
            emit.next({ seq, pad });
          }
        };
        ee.on('go', go);
        return () => {
          stopped = true;
          ee.off('go', go);
        };
      }),
    ),
  });
  return { router, ee, emitted: () => emitted };
}

/** What each write the server's TCP socket makes carries: its frames (counted by their text-frame headers) and bytes. */
function recordWrites(tcp: Socket): Array<{ frames: number; bytes: number }> {
  const writes: Array<{ frames: number; bytes: number }> = [];
  const record = (chunks: unknown[]) => {
    let frames = 0;
    let bytes = 0;
    for (const chunk of chunks) {
      if (Buffer.isBuffer(chunk)) {
        // ws writes each server frame as its header (0x81 = final text frame, ≤ 10 bytes) then its payload.
        if (chunk.length <= 10 && chunk[0] === 0x81) frames++;
        bytes += chunk.length;
      } else if (typeof chunk === 'string') {
        bytes += Buffer.byteLength(chunk);
      }
    }
    writes.push({ frames, bytes });
  };
  const writev = tcp._writev?.bind(tcp);
  const write = tcp._write.bind(tcp);
  tcp._writev = (chunks, callback) => {
    record(chunks.map((c) => c.chunk as unknown));
    writev?.(chunks, callback);
  };
  tcp._write = (chunk, encoding, callback) => {
    record([chunk]);
    write(chunk, encoding, callback);
  };
  return writes;
}

const serverTcp = () => (([...raw.server.wss.clients][0] as unknown as { _socket: Socket })._socket);

async function subscribedClient() {
  const client = await raw.connect();
  client.send({ id: 1, method: 'subscription', params: { path: 'burst' } });
  expect(await client.next(forId(1))).toEqual({ id: 1, result: { type: 'started' } });
  return client;
}

async function takeEvents(client: Awaited<ReturnType<typeof subscribedClient>>, count: number): Promise<number[]> {
  const seqs: number[] = [];
  for (let i = 0; i < count; i++) {
    const frame = (await client.next(forId(1))) as { result: { data: { seq: number } } };
    seqs.push(frame.result.data.seq);
  }
  return seqs;
}

describe('what one turn sends a socket leaves in merged writes', () => {
  it('sends a burst of 100 events in a few writes of at most 16 frames each, in order', async () => {
    const { router, ee } = burstRouter();
    await raw.start({ router });
    const client = await subscribedClient();
    const writes = recordWrites(serverTcp());
    ee.emit('go', 100, 10);
    expect(await takeEvents(client, 100)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(writes.reduce((sum, w) => sum + w.frames, 0)).toBe(100);
    expect(Math.max(...writes.map((w) => w.frames))).toBe(writeMergeLimits.maxFrames);
    // Merged: 100 frames in ⌈100 / 16⌉ = 7 writes, not 100; split: never one write for all.
    expect(writes.length).toBe(Math.ceil(100 / writeMergeLimits.maxFrames));
  });

  it('splits a burst of large frames so that no write carries more than 64 KiB', async () => {
    const { router, ee } = burstRouter();
    await raw.start({ router });
    const client = await subscribedClient();
    const writes = recordWrites(serverTcp());
    ee.emit('go', 8, 20_000);
    expect(await takeEvents(client, 8)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(writes.reduce((sum, w) => sum + w.frames, 0)).toBe(8);
    // Three frames of ~20 KB fit in 64 KiB, a fourth would not.
    expect(writes.map((w) => w.frames)).toEqual([3, 3, 2]);
    for (const write of writes) expect(write.bytes).toBeLessThanOrEqual(writeMergeLimits.maxBytes);
  });

  it('delivers every frame held in the turn before the close frame that follows them', async () => {
    const { router, ee } = burstRouter();
    await raw.start({ router });
    const client = await subscribedClient();
    const tcp = serverTcp();
    ee.emit('go', 50, 10);
    expect(tcp.writableCorked).toBeGreaterThan(0); // the last of them are still held when the close comes
    raw.server.handler!.close();
    const closed = await client.closed;
    expect(closed.code).toBe(CloseCode.GoingAway);
    expect(await takeEvents(client, 50)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('still closes with SlowConsumer (4507) a client that stops reading while one turn floods it', async () => {
    const { router, ee, emitted } = burstRouter();
    await raw.start({ router, maxBufferedBytes: 200_000 });
    const client = await subscribedClient();
    const clientTcp = (client.ws as unknown as { _socket: Socket })._socket;
    clientTcp.pause();
    await new Promise((resolve) => setImmediate(resolve));
    const flood = 100_000; // 100 MB of 1 KB events, far more than the kernel's buffers hold
    ee.emit('go', flood, 1_000);
    expect(emitted()).toBeLessThan(flood); // the subscription stopped with the connection, mid-turn
    clientTcp.resume();
    expect(await client.closed).toEqual({ code: CloseCode.SlowConsumer, reason: 'more than 200000 bytes waiting to be sent' });
  });
});

describe('a socket\'s read releases what earlier callbacks of the turn held', () => {
  /** Blocks this process (client and server alike) so that frames sent before it are all readable at the server's next poll. */
  function blockEventLoop(ms: number): void {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      // busy: no I/O callback can run
    }
  }

  it('writes the first socket\'s answer before it reads the second socket, not at the end of the poll phase', async () => {
    await raw.start({ router: createTestRouter().router });
    const first = await raw.connect();
    const second = await raw.connect();
    type ServerWs = EventEmitter & { _socket: Socket };
    const [firstWs, secondWs] = [...raw.server.wss.clients] as unknown as ServerWs[];
    const log: string[] = [];
    const names = new Map<ServerWs, string>([
      [firstWs!, 'a'],
      [secondWs!, 'b'],
    ]);
    for (const [ws, name] of names) {
      // Registered after the handler's own listener: runs once the handler has read the frame.
      ws.on('message', () => {
        log.push(`read ${name}`);
        if (log.filter((entry) => entry.startsWith('read')).length === 1) setImmediate(() => log.push('poll phase over'));
      });
      const writes = recordWrites(ws._socket);
      const push = writes.push.bind(writes);
      writes.push = (...items) => {
        log.push(`write ${name}`);
        return push(...items);
      };
    }
    first.send({ id: 1, method: 'query', params: { path: 'echo', input: 'a' } });
    second.send({ id: 1, method: 'query', params: { path: 'echo', input: 'b' } });
    blockEventLoop(50);
    expect(await first.next(forId(1))).toMatchObject({ result: { data: 'a' } });
    expect(await second.next(forId(1))).toMatchObject({ result: { data: 'b' } });
    const reads = log.filter((entry) => entry.startsWith('read'));
    const [readFirst, readSecond] = reads;
    const firstName = readFirst!.slice('read '.length);
    // Not vacuous: both frames were read in one poll phase, before setImmediate could flush anything.
    expect(log.indexOf(readSecond!)).toBeLessThan(log.indexOf('poll phase over'));
    // The answer to the frame read first left before the second socket's frame was read.
    expect(log.indexOf(`write ${firstName}`)).toBeGreaterThan(log.indexOf(readFirst!));
    expect(log.indexOf(`write ${firstName}`)).toBeLessThan(log.indexOf(readSecond!));
  });

  it('still answers 64 malformed frames of one read in merged writes, not one write per frame', async () => {
    await raw.start({ router: createTestRouter().router, onError: () => undefined });
    const client = await raw.connect();
    const writes = recordWrites(serverTcp());
    const clientTcp = (client.ws as unknown as { _socket: Socket })._socket;
    clientTcp.cork(); // the 64 frames leave in one write, and the server reads them in one callback
    for (let i = 0; i < 64; i++) client.ws.send('{not json');
    clientTcp.uncork();
    await expect.poll(() => client.received.length).toBe(64);
    expect(writes.reduce((sum, w) => sum + w.frames, 0)).toBe(64);
    expect(writes.length).toBeLessThanOrEqual(Math.ceil(64 / writeMergeLimits.maxFrames) + 1);
  });
});

describe('held writes do not depend on the app\'s timers', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('still answers while a test of the app fakes setImmediate', async () => {
    await raw.start({ router: createTestRouter().router });
    const client = await raw.connect();
    vi.useFakeTimers({ toFake: ['setImmediate', 'clearImmediate'] });
    client.send({ id: 1, method: 'query', params: { path: 'echo', input: 'held' } });
    expect(await client.next(forId(1))).toMatchObject({ result: { type: 'data', data: 'held' } });
  });
});
