import { describe, expect, it } from 'vitest';
import { CloseCode } from '../../src/protocol/closeCodes.js';
import { createTestRouter } from '../fixtures/router.js';
import { forId } from '../fixtures/rawClient.js';
import { useRawServer } from '../fixtures/rawHarness.js';
import { oversizeFrameClose } from '../fixtures/transports.js';
import type { startServer } from '../fixtures/servers.js';

const raw = useRawServer();
const connect = (query = '') => raw.connect(query);

async function serve(extra: Partial<Parameters<typeof startServer>[1]> = {}) {
  const fixture = createTestRouter();
  await raw.start({ router: fixture.router, createContext: () => ({ params: null }), ...extra });
  return fixture;
}

const echo = (id: number, input: unknown = { ok: true }) => ({ id, method: 'query', params: { path: 'echo', input } });

describe('malformed frames get a typed error and the socket stays usable', () => {
  it('answers invalid JSON with an id-null PARSE_ERROR in stock\'s words (the parser\'s message) and keeps serving', async () => {
    await serve();
    const client = await connect();
    client.sendText('{not json');
    const parserMessage = (() => {
      try {
        return JSON.parse('{not json') as never;
      } catch (cause) {
        return (cause as Error).message;
      }
    })();
    expect(await client.next(forId(null))).toMatchObject({
      id: null,
      error: { code: -32700, message: parserMessage, data: { code: 'PARSE_ERROR' } },
    });
    client.send(echo(1));
    expect(await client.next(forId(1))).toEqual({ id: 1, result: { type: 'data', data: { ok: true } } });
  });

  it('answers each bad element of a batch on its own and runs the valid ones', async () => {
    await serve();
    const client = await connect();
    client.send([
      echo(1, 'first'),
      { id: 2, method: 'bogus', params: { path: 'echo' } },
      { id: 3, method: 'query', params: {} },
      { id: 4, method: 'query', params: { path: 'echo', lastEventId: 7 } },
      42,
      echo(6, 'last'),
    ]);
    expect(await client.next(forId(1))).toEqual({ id: 1, result: { type: 'data', data: 'first' } });
    expect(await client.next(forId(6))).toEqual({ id: 6, result: { type: 'data', data: 'last' } });
    // Stock's parseTRPCMessage wording; which field was wrong goes to onError as the cause.
    expect(await client.next(forId(2))).toMatchObject({ error: { message: 'Invalid procedure type', data: { code: 'PARSE_ERROR' } } });
    expect(await client.next(forId(3))).toMatchObject({ error: { message: 'Invalid string' } });
    expect(await client.next(forId(4))).toMatchObject({ error: { message: 'Invalid string' } });
    expect(await client.next(forId(null))).toMatchObject({ error: { message: 'Not an object' } });
  });

  it('words a missing id, a null id, an empty batch and a wrong jsonrpc as stock does', async () => {
    await serve();
    const client = await connect();
    client.send({ method: 'query', params: { path: 'echo' } });
    expect(await client.next(forId(null))).toMatchObject({ error: { message: 'Invalid request id' } });
    client.send({ id: null, method: 'query', params: { path: 'echo' } });
    expect(await client.next(forId(null))).toMatchObject({ error: { message: '`id` is required' } });
    client.send([]);
    expect(await client.next(forId(null))).toMatchObject({ error: { message: 'Invalid message: a batch must hold at least one message' } });
    client.send({ ...echo(5), jsonrpc: '1.0' });
    expect(await client.next(forId(5))).toMatchObject({ error: { message: 'Must be JSONRPC 2.0' } });
  });

  it('gives onError the field that was wrong as the cause, keeping stock\'s message', async () => {
    const causes: string[] = [];
    await serve({ onError: ({ error }) => causes.push(`${error.message} / ${String((error.cause as Error | undefined)?.message)}`) });
    const client = await connect();
    client.send({ id: 1, method: 'query', params: { path: 7 } });
    await client.next(forId(1));
    expect(causes).toEqual(['Invalid string / `params.path` must be a string']);
  });

  it('refuses binary frames with stock\'s PARSE_ERROR when the encoder is JSON', async () => {
    await serve();
    const client = await connect();
    client.ws.send(Buffer.from(JSON.stringify(echo(1))), { binary: true });
    expect(await client.next(forId(null))).toMatchObject({
      error: { message: 'jsonEncoder received binary data. JSON uses text frames. Use a binary encoder for binary data.', data: { code: 'PARSE_ERROR' } },
    });
    client.send(echo(2));
    expect(await client.next(forId(2))).toMatchObject({ result: { data: { ok: true } } });
  });

  it('echoes jsonrpc when the client sent it, as stock does', async () => {
    await serve();
    const client = await connect();
    client.send({ ...echo(1), jsonrpc: '2.0' });
    expect(await client.next(forId(1))).toEqual({ id: 1, jsonrpc: '2.0', result: { type: 'data', data: { ok: true } } });
  });

  it('answers every call of a batch over maxBatchSize with BAD_REQUEST and runs none', async () => {
    await serve({ maxBatchSize: 2 });
    const client = await connect();
    client.send([echo(1), echo(2), echo(3)]);
    for (const id of [1, 2, 3]) {
      expect(await client.next(forId(id))).toMatchObject({ error: { message: 'Batch call exceeds maximum size', data: { code: 'BAD_REQUEST' } } });
    }
    expect(client.received.some((f) => typeof f === 'object' && f !== null && 'result' in f)).toBe(false);
  });

  it('refuses a second subscription with a live id as BAD_REQUEST', async () => {
    await serve();
    const client = await connect();
    client.send({ id: 1, method: 'subscription', params: { path: 'feed' } });
    expect(await client.next(forId(1))).toEqual({ id: 1, result: { type: 'started' } });
    client.send({ id: 1, method: 'subscription', params: { path: 'feed' } });
    expect(await client.next(forId(1))).toMatchObject({ error: { message: 'Duplicate id 1', data: { code: 'BAD_REQUEST' } } });
  });

  it('answers a value that cannot be serialised with INTERNAL_SERVER_ERROR, not a crash', async () => {
    await serve();
    const client = await connect();
    client.send({ id: 1, method: 'query', params: { path: 'unserialisable' } });
    expect(await client.next(forId(1))).toMatchObject({ error: { data: { code: 'INTERNAL_SERVER_ERROR' } } });
    client.send({ id: 2, method: 'mutation', params: { path: 'nothing' } });
    expect(await client.next(forId(2))).toEqual({ id: 2, result: { type: 'data' } });
    client.send({ id: 3, method: 'query', params: { path: 'nope' } });
    expect(await client.next(forId(3))).toMatchObject({ error: { data: { code: 'NOT_FOUND' } } });
  });

  it('keeps other connections streaming while one sends garbage', async () => {
    const fixture = await serve();
    const good = await connect();
    const bad = await connect();
    good.send({ id: 1, method: 'subscription', params: { path: 'feed' } });
    await good.next(forId(1));
    for (let i = 0; i < 20; i++) bad.sendText(i % 2 ? '[' : '{"id":{}}');
    bad.ws.send(Buffer.alloc(2048, 1), { binary: true });
    fixture.publish('still here');
    expect(await good.next(forId(1))).toEqual({
      id: 1,
      result: { type: 'data', id: '1', data: { id: '1', data: { seq: 1, text: 'still here' } } },
    });
    bad.send(echo(99));
    expect(await bad.next(forId(99))).toMatchObject({ result: { data: { ok: true } } });
  });
});

describe('abuse is answered with a documented close code', () => {
  it('closes a frame over maxPayloadBytes with PayloadTooLarge (4413; uWebSockets.js drops the connection: 1006)', async () => {
    await serve({ maxPayloadBytes: 1024 });
    const client = await connect();
    const bystander = await connect();
    const frame = JSON.stringify(echo(1, 'x'.repeat(2000)));
    client.sendText(frame);
    expect(await client.closed).toEqual(oversizeFrameClose(1024));
    bystander.send(echo(2, 'still served'));
    expect(await bystander.next(forId(2))).toMatchObject({ result: { data: 'still served' } });
  });

  it('closes a connection that queues too many calls before its context is ready (4429)', async () => {
    await serve({ maxQueuedCallsBeforeReady: 3, createContext: () => new Promise(() => {}) });
    const client = await connect();
    client.send([echo(1), echo(2), echo(3), echo(4)]);
    expect((await client.closed).code).toBe(CloseCode.RateLimited);
  });
});

describe('connectionParams', () => {
  it('closes with AuthTimeout (4408) when the params frame never comes', async () => {
    await serve({ authTimeoutMs: 100 });
    const client = await connect('?connectionParams=1');
    const started = Date.now();
    expect(await client.closed).toEqual({ code: CloseCode.AuthTimeout, reason: 'connectionParams not received in time' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
  });

  it('closes with BadRequest (4400) after naming the bad field of a params frame', async () => {
    await serve();
    const client = await connect('?connectionParams=1');
    client.send({ method: 'connectionParams', data: { token: 42 } });
    expect(await client.next(forId(null))).toMatchObject({ error: { message: 'Invalid connection params shape', data: { code: 'PARSE_ERROR' } } });
    expect((await client.closed).code).toBe(CloseCode.BadRequest);
  });

  it('words a params frame that is not JSON as stock does, then closes with 4400', async () => {
    await serve();
    const client = await connect('?connectionParams=1');
    client.sendText('{"method":"connectionParams",');
    expect(await client.next(forId(null))).toMatchObject({ error: { message: 'Malformed TRPCConnectionParamsMessage', data: { code: 'PARSE_ERROR' } } });
    expect((await client.closed).code).toBe(CloseCode.BadRequest);
  });

  it('treats a first frame that is not params as a bad request', async () => {
    await serve();
    const client = await connect('?connectionParams=1');
    client.send(echo(1));
    expect(await client.next(forId(null))).toMatchObject({ error: { message: 'Malformed TRPCConnectionParamsMessage' } });
    expect((await client.closed).code).toBe(CloseCode.BadRequest);
  });

  it('runs calls that arrive before the context after it, with the params', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    await serve({
      createContext: async ({ info }) => {
        await gate;
        return { params: info.connectionParams };
      },
    });
    const client = await connect('?connectionParams=1');
    client.send({ method: 'connectionParams', data: { token: 't1' } });
    client.send([{ id: 1, method: 'query', params: { path: 'whoami' } }, echo(2)]);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(client.received).toEqual([]);
    release();
    expect(await client.next(forId(1))).toEqual({ id: 1, result: { type: 'data', data: { token: 't1' } } });
    expect(await client.next(forId(2))).toMatchObject({ result: { data: { ok: true } } });
  });
});

describe('a refused context closes with the code that matches the error', () => {
  it.each([
    ['UNAUTHORIZED', CloseCode.Unauthorized],
    ['FORBIDDEN', CloseCode.Forbidden],
    ['INTERNAL_SERVER_ERROR', CloseCode.InternalError],
  ] as const)('%s → %i, after the error frame and an answer to every waiting call', async (code, closeCode) => {
    const { TRPCError } = await import('@trpc/server');
    let reject!: (e: unknown) => void;
    await serve({ createContext: () => new Promise((_, r) => (reject = r)) });
    const client = await connect();
    client.send(echo(1));
    await new Promise((resolve) => setTimeout(resolve, 20));
    reject(new TRPCError({ code, message: 'nope' }));
    expect(await client.next(forId(null))).toMatchObject({ error: { message: 'nope', data: { code } } });
    expect(await client.next(forId(1))).toMatchObject({ error: { message: 'nope', data: { code } } });
    expect((await client.closed).code).toBe(closeCode);
  });
});

describe('the work one frame causes is bounded', () => {
  /** `[1,1,…,1]`: a 1 MiB frame of half a million elements that are not messages. */
  const ones = `[${'1,'.repeat(524_286)}1]`;

  it.each([
    ['the default maxBatchSize refuses it whole', {}, 'Batch call exceeds maximum size'],
    ['without a batch limit, its bad elements share one answer', { maxBatchSize: Infinity }, 'Not an object'],
  ] as const)('a 1 MiB frame of half a million bad elements: %s, one onError, others unaffected', async (_name, options, message) => {
    let onErrorCalls = 0;
    await serve({ ...options, onError: () => void onErrorCalls++ });
    const good = await connect();
    const bad = await connect();
    expect(ones.length).toBeLessThanOrEqual(1_048_576);
    const started = performance.now();
    bad.sendText(ones);
    good.send(echo(1, 'still served'));
    expect(await good.next(forId(1), 5_000)).toMatchObject({ result: { data: 'still served' } });
    expect(await bad.next(forId(null), 5_000)).toMatchObject({ error: { message } });
    const elapsedMs = performance.now() - started;
    bad.send(echo(2));
    expect(await bad.next(forId(2))).toMatchObject({ result: { data: { ok: true } } });
    expect(bad.received).toEqual([]); // one answer for the whole frame
    expect(onErrorCalls).toBe(1);
    console.info(`1 MiB frame of 524,287 bad elements (${_name}): answered in ${elapsedMs.toFixed(0)} ms`);
  });

  it('answers a batch whose elements all carry ids element by element, but reports it once', async () => {
    let onErrorCalls = 0;
    await serve({ onError: () => void onErrorCalls++ });
    const client = await connect();
    client.send(Array.from({ length: 500 }, (_, i) => ({ id: i + 1, method: 'bogus' })));
    for (let id = 1; id <= 500; id++) expect(await client.next(forId(id))).toMatchObject({ error: { message: 'Invalid procedure type' } });
    expect(onErrorCalls).toBe(1);
  });
});

describe('before authentication, junk costs the socket', () => {
  const waitForever = () => new Promise<never>(() => {});

  it.each([
    ['a frame that is not JSON', '{not json'],
    ['a batch with one bad element', JSON.stringify([echo(1), { id: 2, method: 'bogus' }])],
    ['an element that is not an object', '42'],
    ['an empty batch', '[]'],
  ])('%s closes with 4400 and is not answered', async (_name, text) => {
    const errors: string[] = [];
    await serve({ authenticate: waitForever, onError: ({ error }) => errors.push(error.code) });
    const client = await connect();
    client.sendText(text);
    expect(await client.closed).toEqual({ code: CloseCode.BadRequest, reason: 'malformed message before authentication' });
    expect(client.received).toEqual([]);
    expect(errors).toEqual(['PARSE_ERROR']);
  });

  it('still queues well-formed calls while authenticate runs', async () => {
    let accept!: () => void;
    await serve({ authenticate: () => new Promise((resolve) => (accept = () => resolve({})))});
    const client = await connect();
    client.send([echo(1), echo(2)]);
    await expect.poll(() => typeof accept).toBe('function');
    accept();
    expect(await client.next(forId(2))).toMatchObject({ result: { data: { ok: true } } });
  });
});
