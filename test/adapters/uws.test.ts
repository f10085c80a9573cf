/** The uWebSockets.js adapter on a real uWS App: stock and our clients, the upgrade checks, limits and abuse. */
import { execFileSync } from 'node:child_process';
import { EventEmitter, on } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { createTRPCClient, createWSClient as stockCreateWSClient, wsLink as stockWsLink } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import { initTRPC } from '@trpc/server';
import uWS from '@trufflesuite/uws-js-unofficial';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { applyUWSHandler } from '../../src/adapters/uws/index.js';
import type { UWSHandlerControls, UWSHandlerOptions, UWSUpgradeRequest } from '../../src/adapters/uws/index.js';
import { createWSClient, wsLink } from '../../src/client/index.js';
import { CloseCode } from '../../src/protocol/closeCodes.js';
import type { SessionBase } from '../../src/server/index.js';
import type { AuthRouter, TestSession } from '../fixtures/authRouter.js';
import { createAuthFixture } from '../fixtures/authRouter.js';
import { makeClient, NodeWebSocket } from '../fixtures/clients.js';
import type { RawClient } from '../fixtures/rawClient.js';
import { forId, openRaw, upgradeStatus } from '../fixtures/rawClient.js';
import { createTestRouter } from '../fixtures/router.js';
import type { RunningUWSServer } from '../fixtures/uwsServer.js';
import { startUWSServer } from '../fixtures/uwsServer.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serve<TRouter extends AnyRouter, TSession extends SessionBase = SessionBase>(
  opts: UWSHandlerOptions<TRouter, TSession>,
): Promise<RunningUWSServer<TSession>> {
  const server = await startUWSServer<TRouter, TSession>(opts);
  cleanups.push(() => server.close());
  return server;
}

async function raw(url: string, headers?: Record<string, string>): Promise<RawClient> {
  const client = await openRaw(url, headers);
  cleanups.push(() => client.ws.terminate());
  return client;
}

/** Serves the auth fixture (tokens `user:role[:ttlMs]` in `connectionParams` or the query) with `extra` options. */
async function serveAuth(extra: Partial<UWSHandlerOptions<AuthRouter, TestSession>> = {}) {
  const fixture = createAuthFixture();
  const server = await serve<AuthRouter, TestSession>({
    router: fixture.router,
    authenticate: fixture.authenticate,
    createContext: fixture.createContext,
    ...extra,
  });
  return { fixture, server };
}

/** An authenticated raw socket on the auth fixture's server (connectionParams frame first). */
async function authedRaw(url: string, token = 'alice:member'): Promise<RawClient> {
  const client = await raw(`${url}/?connectionParams=1`);
  client.send({ method: 'connectionParams', data: { token } });
  client.send({ id: 'ready', method: 'query', params: { path: 'me' } });
  await client.next(forId('ready'));
  return client;
}

const echo = (id: number, input: unknown = 'hi') => ({ id, method: 'query', params: { path: 'echo', input } });

/**
 * Writes only the start of a masked text frame that announces `announcedBytes`: the header and
 * `sentBytes` of payload, never the rest.
 */
function startHugeFrame(client: RawClient, announcedBytes: number, sentBytes: number): void {
  const header = Buffer.alloc(14);
  header[0] = 0x81; // FIN, text
  header[1] = 0x80 | 127; // masked, 64-bit length
  header.writeBigUInt64BE(BigInt(announcedBytes), 2); // bytes 10–13: a zero mask key
  const tcp = (client.ws as unknown as { _socket: Socket })._socket;
  tcp.write(Buffer.concat([header, Buffer.alloc(sentBytes, 0x20)]));
}

describe('clients on a uWS app', () => {
  it('serves stock tRPC\'s client: a query, a mutation and a tracked subscription', async () => {
    const fixture = createTestRouter();
    const server = await serve({ router: fixture.router, createContext: ({ info }) => ({ params: info.connectionParams }) });
    const client = makeClient('stock', { url: server.url, connectionParams: { token: 't' } });
    cleanups.push(() => client.close());
    expect(await client.trpc.echo.query({ a: [1, 'ü'] })).toEqual({ a: [1, 'ü'] });
    expect(await client.trpc.add.mutate({ a: 2, b: 3 })).toBe(5);
    expect(await client.trpc.whoami.query()).toEqual({ token: 't' });
    const seen: string[] = [];
    const subscription = client.trpc.feed.subscribe({}, { onData: (event) => seen.push(event.data.text) });
    await expect.poll(() => fixture.subscriberCount()).toBe(1);
    fixture.publish('one');
    fixture.publish('two');
    await expect.poll(() => seen).toEqual(['one', 'two']);
    subscription.unsubscribe();
    await expect.poll(() => fixture.subscriberCount()).toBe(0);
  });

  it('authenticates our client with connectionParams and refreshes its session in band on the same socket', async () => {
    const { fixture, server } = await serveAuth({ refreshAheadMs: 200 });
    let issued = 0;
    const wsClient = createWSClient({
      url: server.url,
      WebSocket: NodeWebSocket,
      retryDelayMs: () => 10,
      connectionParams: () => ({ token: `alice:member:400#${++issued}` }),
    });
    cleanups.push(() => wsClient.close());
    const trpc = createTRPCClient<AuthRouter>({ links: [wsLink<AuthRouter>({ client: wsClient })] });
    const seqs: number[] = [];
    trpc.publicRoom.subscribe({}, { onData: (event) => seqs.push(event.data.seq) });
    await expect.poll(() => fixture.listeners()).toBe(1);
    await expect.poll(() => wsClient.stats.refreshes, { timeout: 5_000 }).toBeGreaterThanOrEqual(2);
    const published = fixture.publish('public').seq;
    await expect.poll(() => seqs).toContain(published);
    expect(await trpc.me.query()).toMatchObject({ user: 'alice', token: `alice:member:400#${issued}` });
    expect(wsClient.stats.socketsOpened).toBe(1);
  });

  it('speaks experimental_encoder in binary frames, PING/PONG staying text', async () => {
    const binaryJson = {
      encode: (data: unknown) => new TextEncoder().encode(JSON.stringify(data)),
      decode: (data: string | Uint8Array) => JSON.parse(typeof data === 'string' ? data : new TextDecoder().decode(data)) as unknown,
    };
    const server = await serve({ router: createTestRouter().router, experimental_encoder: binaryJson });
    const client = await raw(server.url);
    const frames: Array<{ binary: boolean; body: unknown }> = [];
    client.ws.on('message', (data, isBinary) => frames.push({ binary: isBinary, body: isBinary ? binaryJson.decode(data as Buffer) : data.toString() }));
    client.ws.send(binaryJson.encode({ id: 1, method: 'query', params: { path: 'echo', input: 'bin' } }));
    client.sendText('PING');
    await expect.poll(() => frames.length).toBe(2);
    expect(frames).toContainEqual({ binary: true, body: { id: 1, result: { type: 'data', data: 'bin' } } });
    expect(frames).toContainEqual({ binary: false, body: 'PONG' });
  });

  it('compresses with uws.compression when the client negotiates permessage-deflate', async () => {
    const server = await serve({ router: createTestRouter().router, uws: { compression: uWS.SHARED_COMPRESSOR } });
    const client = await raw(server.url); // `ws` offers permessage-deflate by default
    expect(client.ws.extensions).toContain('permessage-deflate');
    const tcp = (client.ws as unknown as { _socket: Socket })._socket;
    const before = tcp.bytesRead;
    const input = 'z'.repeat(10_000);
    client.send(echo(13, input));
    expect(await client.next(forId(13))).toEqual({ id: 13, result: { type: 'data', data: input } });
    expect(tcp.bytesRead - before).toBeLessThan(1_000); // the answer came deflated
  });

  it('answers every PING, each once its PONG went out', async () => {
    const server = await serve({ router: createTestRouter().router });
    const client = await raw(server.url);
    for (let i = 0; i < 3; i++) {
      client.sendText('PING');
      expect(await client.next()).toBe('PONG');
    }
  });

  it('keeps the order of what it sends: a burst of events arrives whole and in order', async () => {
    const fixture = createTestRouter();
    const server = await serve({ router: fixture.router });
    const client = await raw(server.url);
    client.send({ id: 1, method: 'subscription', params: { path: 'feed' } });
    await client.next((f) => (f as { result?: { type?: string } }).result?.type === 'started');
    const published = Array.from({ length: 200 }, (_, i) => fixture.publish(`e${i}`).seq);
    await expect.poll(() => client.received.length).toBe(200);
    expect(client.received.map((f) => Number((f as { result: { id: string } }).result.id))).toEqual(published);
  });
});

describe('a uWS SSLApp', () => {
  it('serves wss:// as an App serves ws://: a stock client and ours, each with its own TLS socket', async () => {
    // A throwaway self-signed certificate for 127.0.0.1, made by the machine's openssl.
    const dir = await mkdtemp(join(tmpdir(), 'lanyard-uws-tls-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-days', '1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
    const app = uWS.SSLApp({ key_file_name: key, cert_file_name: cert });
    const fixture = createAuthFixture();
    const handler = applyUWSHandler<AuthRouter, TestSession>(app, '/*', {
      router: fixture.router,
      authenticate: fixture.authenticate,
      createContext: fixture.createContext,
    });
    const listenSocket = await new Promise<uWS.us_listen_socket>((resolve, reject) =>
      app.listen('127.0.0.1', 0, (socket) => (socket ? resolve(socket) : reject(new Error('uWS could not listen')))),
    );
    cleanups.push(() => {
      handler.close();
      uWS.us_listen_socket_close(listenSocket);
    });
    const url = `wss://127.0.0.1:${uWS.us_socket_local_port(listenSocket)}`;
    /** `ws` trusting the throwaway certificate. */
    class TrustingWebSocket extends WebSocket {
      constructor(address: string | URL, protocols?: string | string[]) {
        super(address, protocols, { rejectUnauthorized: false });
      }
    }
    const TLSWebSocket = TrustingWebSocket as unknown as typeof globalThis.WebSocket;
    const stockClient = stockCreateWSClient({ url, WebSocket: TLSWebSocket, connectionParams: { token: 'alice:member#stock' } });
    const ourClient = createWSClient({ url, WebSocket: TLSWebSocket, connectionParams: { token: 'bob:member#ours' } });
    cleanups.push(() => stockClient.close(), () => ourClient.close());
    const viaStock = createTRPCClient<AuthRouter>({ links: [stockWsLink<AuthRouter>({ client: stockClient })] });
    const viaOurs = createTRPCClient<AuthRouter>({ links: [wsLink<AuthRouter>({ client: ourClient })] });
    expect(await viaStock.me.query()).toMatchObject({ user: 'alice', token: 'alice:member#stock' });
    expect(await viaOurs.me.query()).toMatchObject({ user: 'bob', token: 'bob:member#ours' });
    expect(ourClient.session).not.toBeNull(); // the extension was negotiated over TLS too
  });
});

describe('the upgrade', () => {
  it('refuses an Origin not in allowedOrigins with HTTP 403 before the socket opens', async () => {
    const server = await serve({ router: createTestRouter().router, allowedOrigins: ['https://app.example'] });
    expect(await upgradeStatus(server.url, 'https://evil.example')).toBe(403);
    expect(await upgradeStatus(server.url, 'https://app.example')).toBe(101);
    expect(await upgradeStatus(server.url)).toBe(101); // no Origin: a non-browser client
  });

  it('refuses with 403 and reports to onError when the allowedOrigins predicate throws, and keeps serving', async () => {
    const errors: Array<{ code: string; message: string; cause: unknown; req: unknown }> = [];
    const server = await serve({
      router: createTestRouter().router,
      allowedOrigins: (origin: string | undefined) => origin!.endsWith('.trusted.example'),
      onError: ({ error, req }) => errors.push({ code: error.code, message: error.message, cause: error.cause, req }),
    });
    expect(await upgradeStatus(server.url)).toBe(403);
    expect(errors).toEqual([
      {
        code: 'INTERNAL_SERVER_ERROR',
        message: 'allowedOrigins threw; the upgrade was refused',
        cause: expect.any(TypeError),
        req: expect.objectContaining({ method: 'GET', url: '/' }),
      },
    ]);
    const client = await raw(server.url, { Origin: 'https://a.trusted.example' });
    client.send(echo(1));
    expect(await client.next(forId(1))).toMatchObject({ result: { data: 'hi' } });
  });

  it('hands createContext a copy of the request with the query token redacted, and the token to authenticate only', async () => {
    const seen: Array<{ where: string; req: UWSUpgradeRequest }> = [];
    const tokens: Array<string | null> = [];
    const server = await serve({
      router: createTestRouter().router,
      credentials: { queryParam: 'access_token' },
      allowedOrigins: (_origin, req) => (seen.push({ where: 'allowedOrigins', req }), true),
      authenticate: ({ queryToken, url, req }) => {
        tokens.push(queryToken);
        seen.push({ where: `authenticate ${url?.search}`, req });
        return {};
      },
      createContext: ({ req, info }) => {
        seen.push({ where: `createContext ${info.url?.search}`, req });
        return { params: null };
      },
    });
    const client = await raw(`${server.url}/trpc?access_token=s3cret&x=1`, { Authorization: 'Bearer b', 'X-Custom': 'yes' });
    client.send(echo(1));
    expect(await client.next(forId(1))).toMatchObject({ result: { data: 'hi' } });
    expect(tokens).toEqual(['s3cret']);
    expect(seen.map((s) => s.where)).toEqual(['allowedOrigins', 'authenticate ?access_token=REDACTED&x=1', 'createContext ?access_token=REDACTED&x=1']);
    for (const { req } of seen) {
      expect(req.url).toBe('/trpc?access_token=REDACTED&x=1');
      expect(req.method).toBe('GET');
      expect(req.remoteAddress).toBe('127.0.0.1');
      expect(req.headers['authorization']).toBe('Bearer b');
      expect(req.headers['x-custom']).toBe('yes');
    }
    expect(JSON.stringify(seen)).not.toContain('s3cret');
  });

  it('reads cookies for authenticate only with credentials.cookies', async () => {
    const cookies: Array<Record<string, string>> = [];
    const start = (on: boolean) =>
      serve({
        router: createTestRouter().router,
        credentials: { cookies: on },
        allowedOrigins: ['https://app.example'],
        authenticate: ({ cookies: jar }) => (cookies.push({ ...jar }), {}),
      });
    for (const on of [true, false]) {
      const server = await start(on);
      const client = await raw(server.url, { Cookie: 'session=abc; theme=dark' });
      client.send(echo(1));
      await client.next(forId(1));
    }
    expect(cookies).toEqual([{ session: 'abc', theme: 'dark' }, {}]);
  });

  it('refuses an idleTimeoutSec that uWS would abort the process for', () => {
    const app = uWS.App();
    expect(() => applyUWSHandler(app, '/*', { router: createTestRouter().router, uws: { idleTimeoutSec: 4 } })).toThrow(RangeError);
  });
});

describe('frame limits', () => {
  it('closes with 4413 a frame over maxPayloadBytesBeforeAuth that arrives before authentication', async () => {
    const { server } = await serveAuth({ maxPayloadBytes: 64 * 1024 });
    const client = await raw(`${server.url}/?connectionParams=1`);
    client.sendText(JSON.stringify({ method: 'connectionParams', data: { token: 'x'.repeat(20_000) } }));
    expect(await client.closed).toEqual({ code: CloseCode.PayloadTooLarge, reason: 'frame exceeds 16384 bytes' });
  });

  it('lets uWS refuse a frame over maxPayloadBytes from its header: the TCP connection closes without a close frame (1006)', async () => {
    const { server } = await serveAuth({ maxPayloadBytes: 64 * 1024 });
    const bystander = await authedRaw(server.url, 'bob:member');
    const client = await authedRaw(server.url);
    client.sendText('x'.repeat(64 * 1024 + 1));
    expect((await client.closed).code).toBe(1006);
    const early = await raw(`${server.url}/?connectionParams=1`);
    startHugeFrame(early, 48 * 2 ** 20, 1_000); // never sent whole: refused from the header
    expect((await early.closed).code).toBe(1006);
    bystander.send({ id: 2, method: 'query', params: { path: 'me' } });
    expect(await bystander.next(forId(2))).toMatchObject({ result: { data: { user: 'bob' } } });
  });

  it('takes a frame of exactly maxPayloadBytes after authentication', async () => {
    const { server } = await serveAuth({ maxPayloadBytes: 64 * 1024 });
    const client = await authedRaw(server.url);
    const frame = JSON.stringify({ id: 3, method: 'query', params: { path: 'me', input: '' } });
    const padded = frame.replace('"input":""', `"input":"${'x'.repeat(64 * 1024 - frame.length)}"`);
    expect(Buffer.byteLength(padded)).toBe(64 * 1024);
    client.sendText(padded);
    expect(await client.next(forId(3))).toMatchObject({ result: { data: { user: 'alice' } } });
  });
});

describe('abuse', () => {
  it('answers malformed frames after authentication and keeps the socket; closes with 4400 before it', async () => {
    const { server } = await serveAuth();
    const client = await authedRaw(server.url);
    client.sendText('{not json');
    expect(await client.next(forId(null))).toMatchObject({ error: { data: { code: 'PARSE_ERROR' } } });
    client.ws.send(Buffer.from([0xff, 0x00, 0x13]), { binary: true });
    expect(await client.next(forId(null))).toMatchObject({ error: { data: { code: 'PARSE_ERROR' } } });
    client.send({ id: 4, method: 'query', params: { path: 'me' } });
    expect(await client.next(forId(4))).toMatchObject({ result: { data: { user: 'alice' } } });

    const early = await raw(`${server.url}/?connectionParams=1`);
    early.sendText('[1,2');
    expect((await early.closed).code).toBe(CloseCode.BadRequest);
  });

  it('closes a text frame that is not UTF-8 without a close frame (uWS), tells onError, and no one else notices', async () => {
    const errors: string[] = [];
    const server = await serve({ router: createTestRouter().router, onError: ({ error }) => errors.push(error.message) });
    const bystander = await raw(server.url);
    const client = await raw(server.url);
    const frame = Buffer.from([0x81, 0x82, 0, 0, 0, 0, 0xc3, 0x28]); // masked text frame holding invalid UTF-8
    (client.ws as unknown as { _socket: Socket })._socket.write(frame);
    expect((await client.closed).code).toBe(1006);
    expect(errors).toEqual(['uWebSockets.js closed the socket: Received invalid UTF-8']);
    bystander.send(echo(5));
    expect(await bystander.next(forId(5))).toMatchObject({ result: { data: 'hi' } });
  });

  it('survives a createContext and an onError that throw: 4500 for that socket, the others served', async () => {
    let calls = 0;
    const server = await serve({
      router: createTestRouter().router,
      createContext: () => {
        if (++calls === 1) throw new Error('database down');
        return { params: null };
      },
      onError: () => {
        throw new Error('onError broke too');
      },
    });
    const unlucky = await raw(server.url);
    unlucky.send(echo(11));
    expect((await unlucky.closed).code).toBe(CloseCode.InternalError);
    expect(unlucky.received).toContainEqual(expect.objectContaining({ id: null, error: expect.objectContaining({ message: 'database down' }) }));
    const next = await raw(server.url);
    next.send(echo(12));
    expect(await next.next(forId(12))).toMatchObject({ result: { data: 'hi' } });
  });

  it('answers a PING flood from a client that does not read with one waiting PONG, not one per PING', async () => {
    const server = await serve({ router: createTestRouter().router });
    const bystander = await raw(server.url);
    const flooder = await raw(server.url);
    const tcp = (flooder.ws as unknown as { _socket: Socket })._socket;
    tcp.pause();
    const one = Buffer.from([0x81, 0x84, 0, 0, 0, 0, 0x50, 0x49, 0x4e, 0x47]); // masked "PING", zero mask
    const chunk = Buffer.concat(Array.from({ length: 20_000 }, () => one));
    const total = 1_000_000;
    for (let sent = 0; sent < total; sent += 20_000) {
      if (!tcp.write(chunk)) await new Promise((resolve) => tcp.once('drain', resolve));
    }
    flooder.send(echo(9)); // answered after every PING before it
    bystander.send(echo(10));
    expect(await bystander.next(forId(10))).toMatchObject({ result: { data: 'hi' } });
    tcp.resume();
    expect(await flooder.next(forId(9), 30_000)).toMatchObject({ result: { data: 'hi' } });
    const pongs = flooder.received.filter((frame) => frame === 'PONG').length;
    console.info(`${total} PINGs from a client that stopped reading: ${pongs} PONGs sent`);
    expect(pongs).toBeGreaterThan(0);
    expect(pongs).toBeLessThan(total);
  });

  it('closes a client that stopped reading with 4507 once maxBufferedBytes wait, having dropped no frame before it', async () => {
    const t = initTRPC.create();
    const chunk = 'x'.repeat(100_000);
    let yielded = 0;
    const router = t.router({
      echo: t.procedure.input((v: unknown) => v).query(({ input }) => input),
      flood: t.procedure.subscription(async function* ({ signal }) {
        while (!signal?.aborted && yielded < 2_000) {
          yield `${++yielded}:${chunk}`;
          await new Promise((resolve) => setImmediate(resolve));
        }
      }),
    });
    const server = await serve({ router, maxBufferedBytes: 1_000_000 });
    const bystander = await raw(server.url);
    const client = await raw(server.url);
    const tcp = (client.ws as unknown as { _socket: Socket })._socket;
    tcp.pause();
    client.send({ id: 1, method: 'subscription', params: { path: 'flood' } });
    await expect.poll(() => yielded, { timeout: 10_000 }).toBeGreaterThan(10);
    let stoppedAt = -1;
    await expect
      .poll(async () => {
        const before = yielded;
        await new Promise((resolve) => setTimeout(resolve, 50));
        stoppedAt = yielded;
        return yielded === before;
      }, { timeout: 10_000 })
      .toBe(true); // the subscription was stopped with the connection
    bystander.send(echo(6));
    expect(await bystander.next(forId(6))).toMatchObject({ result: { data: 'hi' } });
    tcp.resume();
    expect(await client.closed).toEqual({ code: CloseCode.SlowConsumer, reason: 'more than 1000000 bytes waiting to be sent' });
    const events = client.received
      .map((f) => (f as { result?: { data?: unknown } }).result?.data)
      .filter((data): data is string => typeof data === 'string')
      .map((data) => Number(data.split(':')[0]));
    expect(events.length).toBeGreaterThan(0);
    expect(events).toEqual(Array.from({ length: events.length }, (_, i) => i + 1)); // none dropped by uWS
    expect(events.length).toBeLessThanOrEqual(stoppedAt);
  });
});

describe('sending from inside another socket\'s uWS callback (uWS has corked that one)', () => {
  it('delivers a burst to another socket in order and revokes it there, the caller answered', async () => {
    interface Session extends SessionBase {
      readonly user: string;
    }
    const t = initTRPC.context<{ session: Session | null }>().create();
    const ee = new EventEmitter();
    let handler: UWSHandlerControls<Session> | null = null;
    const router = t.router({
      feed: t.procedure.subscription(async function* ({ signal }) {
        for await (const [n] of on(ee, 'n', { signal }) as AsyncIterable<[number]>) yield n;
      }),
      burst: t.procedure.input((v: unknown) => v as number).mutation(({ input }) => {
        for (let i = 1; i <= input; i++) ee.emit('n', i);
        return input;
      }),
      kick: t.procedure.input((v: unknown) => v as string).mutation(({ input }) => handler!.revoke((s) => s.user === input, { reason: 'kicked' })),
    });
    const server = await serve<typeof router, Session>({
      router,
      authenticate: ({ connectionParams }) => ({ user: connectionParams?.['user'] ?? 'nobody' }),
      createContext: ({ session }) => ({ session }),
    });
    handler = server.handler;
    const open = async (user: string) => {
      const client = await raw(`${server.url}/?connectionParams=1`);
      client.send({ method: 'connectionParams', data: { user } });
      return client;
    };
    const subscriber = await open('sub');
    const admin = await open('admin');
    subscriber.send({ id: 1, method: 'subscription', params: { path: 'feed' } });
    await subscriber.next((f) => (f as { result?: { type?: string } }).result?.type === 'started');
    admin.send({ id: 2, method: 'mutation', params: { path: 'burst', input: 40 } });
    expect(await admin.next(forId(2))).toMatchObject({ result: { data: 40 } });
    await expect.poll(() => subscriber.received.length).toBe(40);
    expect(subscriber.received.map((f) => (f as { result: { data: number } }).result.data)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    admin.send({ id: 3, method: 'mutation', params: { path: 'kick', input: 'sub' } });
    expect(await admin.next(forId(3))).toMatchObject({ result: { data: 1 } });
    expect(await subscriber.closed).toEqual({ code: CloseCode.Revoked, reason: 'kicked' });
    admin.send({ id: 4, method: 'mutation', params: { path: 'burst', input: 1 } });
    expect(await admin.next(forId(4))).toMatchObject({ result: { data: 1 } });
  });
});

describe('keep-alive and the handler\'s controls', () => {
  it('pings a quiet client with keepAlive and terminates it when nothing comes back (1006)', async () => {
    const server = await serve({ router: createTestRouter().router, keepAlive: { enabled: true, pingMs: 60, pongWaitMs: 60 } });
    const silent = await raw(server.url);
    const answering = await raw(server.url);
    answering.ws.on('message', (data) => {
      if (data.toString() === 'PING') answering.sendText('PONG');
    });
    expect(await silent.next((f) => f === 'PING', 1000)).toBe('PING');
    expect((await silent.closed).code).toBe(1006);
    expect(answering.ws.readyState).toBe(answering.ws.OPEN);
    expect(answering.received.filter((f) => f === 'PING').length).toBeGreaterThanOrEqual(1);
    answering.send(echo(7));
    expect(await answering.next(forId(7))).toMatchObject({ result: { data: 'hi' } });
  });

  it('close() ends every connection with 1001 and refuses later sockets with 1001', async () => {
    const server = await serve({ router: createTestRouter().router });
    const a = await raw(server.url);
    const b = await raw(server.url);
    server.handler.close();
    expect(await a.closed).toEqual({ code: CloseCode.GoingAway, reason: 'server shutting down' });
    expect((await b.closed).code).toBe(CloseCode.GoingAway);
    const later = await raw(server.url);
    expect(await later.closed).toEqual({ code: CloseCode.GoingAway, reason: 'server shutting down' });

    const closes: Array<number | undefined> = [];
    const client = makeClient('stock', { url: server.url, retryDelayMs: () => 10_000, onClose: (cause) => closes.push(cause?.code) });
    cleanups.push(() => client.close());
    void client.trpc.echo.query('hi').catch(() => undefined);
    await expect.poll(() => closes).toEqual([CloseCode.GoingAway]);
  });

  it('the fixture\'s close() (handler, listen socket, app) still ends open sockets with 1001', async () => {
    const server = await serve({ router: createTestRouter().router });
    const clients = await Promise.all([raw(server.url), raw(server.url), raw(server.url)]);
    await server.close();
    for (const client of clients) expect((await client.closed).code).toBe(CloseCode.GoingAway);
  });

  it('revoke() closes the matching sessions with 4410 and leaves the others', async () => {
    const { server } = await serveAuth();
    const alice = await authedRaw(server.url, 'alice:member');
    const bob = await authedRaw(server.url, 'bob:member');
    expect(server.handler.revoke((session) => session.user === 'alice', { reason: 'password changed' })).toBe(1);
    expect(await alice.closed).toEqual({ code: CloseCode.Revoked, reason: 'password changed' });
    bob.send({ id: 8, method: 'query', params: { path: 'me' } });
    expect(await bob.next(forId(8))).toMatchObject({ result: { data: { user: 'bob' } } });
  });

  it('broadcastReconnectNotification() reaches every open socket', async () => {
    const server = await serve({ router: createTestRouter().router });
    const a = await raw(server.url);
    const b = await raw(server.url);
    expect(await server.handler.broadcastReconnectNotification()).toMatchObject({ affected: 2 });
    for (const client of [a, b]) expect(await client.next()).toEqual({ id: null, method: 'reconnect' });
  });
});
