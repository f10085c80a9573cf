/**
 * Incoming frames through `ws`'s own `on('message')` (the fast path) and through the standard
 * `addEventListener('message')` every other WebSocket offers: the same behaviour either way, on
 * real sockets — text and binary frames, an answer right before a close, frames that cannot be
 * read, and a frame `ws` itself rejects.
 */
import { createTRPCClient } from '@trpc/client';
import type { TRPCClient } from '@trpc/client';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { WebSocket as ServerSocket } from 'ws';
import { WebSocket as WsWebSocket, WebSocketServer } from 'ws';
import type { WebSocketClientOptions, WsClient } from '../../src/client/index.js';
import { createWSClient, wsLink } from '../../src/client/index.js';
import { isNodeWs } from '../../src/client/socket/frameListener.js';
import type { TestRouter } from '../fixtures/router.js';
import { createTestRouter } from '../fixtures/router.js';
import type { RunningServer } from '../fixtures/servers.js';
import { startServer } from '../fixtures/servers.js';

/** `ws`, recording which events were asked for through its EventTarget API. */
class RecordingWs extends WsWebSocket {
  public static readonly eventTargetTypes: string[] = [];
  public override addEventListener(...args: Parameters<WsWebSocket['addEventListener']>): void {
    RecordingWs.eventTargetTypes.push(args[0]);
    super.addEventListener(...args);
  }
}

/**
 * `ws` behind the standard API only, as a browser's WebSocket (no `on`, `terminate`, `ping`,
 * `pong`): the client must take the `addEventListener` path with it.
 */
class StandardOnlyWebSocket {
  public static readonly CONNECTING = 0;
  public static readonly OPEN = 1;
  public static readonly CLOSING = 2;
  public static readonly CLOSED = 3;
  public static readonly eventTargetTypes: string[] = [];
  readonly #socket: WsWebSocket;

  constructor(url: string) {
    this.#socket = new WsWebSocket(url);
  }
  get readyState(): number {
    return this.#socket.readyState;
  }
  get binaryType(): string {
    return this.#socket.binaryType;
  }
  set binaryType(type: 'arraybuffer' | 'nodebuffer') {
    this.#socket.binaryType = type;
  }
  send(data: string | ArrayBufferLike | ArrayBufferView): void {
    this.#socket.send(data);
  }
  close(code?: number, reason?: string): void {
    this.#socket.close(code, reason);
  }
  addEventListener(...args: Parameters<WsWebSocket['addEventListener']>): void {
    StandardOnlyWebSocket.eventTargetTypes.push(args[0]);
    this.#socket.addEventListener(...args);
  }
  removeEventListener(...args: Parameters<WsWebSocket['removeEventListener']>): void {
    this.#socket.removeEventListener(...args);
  }
}

/** A binary encoder: JSON as UTF-8 bytes. Records what each binary frame arrived as. */
function binaryJson() {
  const received: string[] = [];
  return {
    received,
    encode: (data: unknown) => new TextEncoder().encode(JSON.stringify(data)),
    decode: (data: string | ArrayBuffer | Uint8Array) => {
      received.push(typeof data === 'string' ? 'string' : data instanceof ArrayBuffer ? 'ArrayBuffer' : data.constructor.name);
      return JSON.parse(typeof data === 'string' ? data : new TextDecoder().decode(data)) as unknown;
    },
  };
}

const socketKinds = [
  ['ws (its own message events)', RecordingWs],
  ['a standard-only WebSocket (addEventListener)', StandardOnlyWebSocket],
] as const;

let server: RunningServer | undefined;
let rawServer: WebSocketServer | undefined;
const clients: WsClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await server?.close();
  server = undefined;
  if (rawServer) {
    for (const socket of rawServer.clients) socket.terminate();
    await new Promise<void>((resolve) => rawServer!.close(() => resolve()));
    rawServer = undefined;
  }
  pongs = 0;
  RecordingWs.eventTargetTypes.length = 0;
  StandardOnlyWebSocket.eventTargetTypes.length = 0;
});

function connect(url: string, WebSocketClass: unknown, opts: Partial<WebSocketClientOptions> = {}) {
  const wsClient = createWSClient({ url, WebSocket: WebSocketClass as typeof WebSocket, retryDelayMs: () => 0, ...opts });
  clients.push(wsClient);
  const trpc: TRPCClient<TestRouter> = createTRPCClient<TestRouter>({ links: [wsLink<TestRouter>({ client: wsClient })] });
  return { wsClient, trpc };
}

/** PONGs the bare server received. */
let pongs = 0;

/** A bare `ws` server: `onFrame` gets each message a socket sends (PING answered, PONG counted). */
async function startRawServer(onFrame: (socket: ServerSocket, message: { id?: number; method?: string }) => void): Promise<string> {
  rawServer = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => rawServer!.once('listening', () => resolve()));
  rawServer.on('connection', (socket) => {
    socket.on('message', (data) => {
      const text = String(data);
      if (text === 'PING') socket.send('PONG');
      else if (text === 'PONG') pongs++;
      else for (const message of [JSON.parse(text) as unknown].flat()) onFrame(socket, message as { id?: number });
    });
  });
  return `ws://127.0.0.1:${(rawServer.address() as AddressInfo).port}`;
}

it('takes the fast path for ws only: ws has on/terminate/ping/pong, the standard API does not', () => {
  expect(isNodeWs(Object.create(WsWebSocket.prototype) as object)).toBe(true);
  expect(isNodeWs(Object.create(StandardOnlyWebSocket.prototype) as object)).toBe(false);
  expect(isNodeWs({ addEventListener: () => undefined, on: () => undefined })).toBe(false);
});

it("reads ws's frames through its own message events, never through its EventTarget wrapper", async () => {
  const fixture = createTestRouter();
  server = await startServer('lanyard', { router: fixture.router });
  const { trpc } = connect(server.url, RecordingWs);
  expect(await trpc.echo.query('fast')).toBe('fast');
  expect(RecordingWs.eventTargetTypes).toEqual(['open', 'error', 'close']);
});

it('reads a standard-only WebSocket through addEventListener', async () => {
  const fixture = createTestRouter();
  server = await startServer('lanyard', { router: fixture.router });
  const { trpc } = connect(server.url, StandardOnlyWebSocket);
  expect(await trpc.echo.query('standard')).toBe('standard');
  expect(StandardOnlyWebSocket.eventTargetTypes).toEqual(['open', 'message', 'error', 'close']);
});

describe.each(socketKinds)('frames through %s', (_name, WebSocketClass) => {
  it('answers queries and streams a subscription over text frames', async () => {
    const fixture = createTestRouter();
    server = await startServer('lanyard', { router: fixture.router });
    const { trpc } = connect(server.url, WebSocketClass);
    const results = await Promise.all([trpc.echo.query('a'), trpc.add.mutate({ a: 1, b: 2 }), trpc.echo.query({ nested: ['é', '😀'] })]);
    expect(results).toEqual(['a', 3, { nested: ['é', '😀'] }]);
    const events: string[] = [];
    const subscription = trpc.feed.subscribe({}, { onData: (event) => events.push(event.data.text) });
    await expect.poll(() => fixture.subscriberCount()).toBe(1);
    fixture.publish('one');
    fixture.publish('two');
    await expect.poll(() => events).toEqual(['one', 'two']);
    subscription.unsubscribe();
    await expect.poll(() => fixture.subscriberCount()).toBe(0);
  });

  it("answers the server's PING with PONG", async () => {
    const url = await startRawServer(() => undefined);
    rawServer!.on('connection', (socket) => {
      socket.send('PING');
      socket.send('PING');
    });
    connect(url, WebSocketClass);
    await expect.poll(() => pongs).toBe(2);
  });

  it('hands binary frames to the encoder as ArrayBuffers, as the standard API does', async () => {
    const fixture = createTestRouter();
    server = await startServer('lanyard', { router: fixture.router, experimental_encoder: binaryJson() });
    const encoder = binaryJson();
    const { trpc } = connect(server.url, WebSocketClass, { experimental_encoder: encoder });
    expect(await trpc.echo.query({ bytes: 'ü' })).toEqual({ bytes: 'ü' });
    const events: string[] = [];
    trpc.feed.subscribe({}, { onData: (event) => events.push(event.data.text) });
    await expect.poll(() => fixture.subscriberCount()).toBe(1);
    fixture.publish('bin');
    await expect.poll(() => events).toEqual(['bin']);
    expect(encoder.received.length).toBeGreaterThanOrEqual(3); // hello, the answer, started, the event
    expect(new Set(encoder.received)).toEqual(new Set(['ArrayBuffer']));
  });

  it('delivers an answer the server sends right before it closes, then fails what is left with the close', async () => {
    const url = await startRawServer((socket, message) => {
      if (message.method !== 'query') return;
      socket.send(JSON.stringify({ id: message.id, result: { type: 'data', data: 'last words' } }));
      socket.close(4000, 'bye');
    });
    const closes: Array<number | undefined> = [];
    const { trpc } = connect(url, WebSocketClass, { retryDelayMs: () => 60_000, onClose: (cause) => closes.push(cause?.code) });
    expect(await trpc.echo.query('x')).toBe('last words');
    await expect.poll(() => closes).toEqual([4000]);
  });

  it('drops a frame it cannot decode and reads the ones after it', async () => {
    const url = await startRawServer((socket, message) => {
      if (message.method !== 'query') return;
      socket.send('not json {');
      socket.send(Buffer.from([0x01, 0x02]), { binary: true }); // JSON takes no binary frames
      socket.send(JSON.stringify({ id: message.id, result: { type: 'data', data: 'after the noise' } }));
    });
    const { trpc } = connect(url, WebSocketClass);
    expect(await trpc.echo.query('x')).toBe('after the noise');
  });

  it("reports a text frame that is not UTF-8 (ws closes 1007) through onError, fails the call, and reconnects", async () => {
    let sockets = 0;
    const url = await startRawServer((socket, message) => {
      if (message.method !== 'query') return;
      if (sockets === 1) {
        // FIN + text opcode, 2 bytes of payload that are not UTF-8; a server's frames are unmasked.
        (socket as unknown as { _socket: { write(bytes: Buffer): void } })._socket.write(Buffer.from([0x81, 0x02, 0xff, 0xfe]));
      } else {
        socket.send(JSON.stringify({ id: message.id, result: { type: 'data', data: 'second socket' } }));
      }
    });
    rawServer!.on('connection', () => sockets++);
    const errors: unknown[] = [];
    const { trpc } = connect(url, WebSocketClass, { onError: (event) => errors.push(event) });
    await expect(trpc.echo.query('x')).rejects.toThrow('WebSocket closed');
    expect(errors).toHaveLength(1);
    expect(await trpc.echo.query('y')).toBe('second socket');
    expect(sockets).toBe(2);
  });
});
