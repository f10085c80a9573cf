/**
 * Our protocol errors use stock tRPC's words: the same bad frame, sent to stock's
 * `applyWSSHandler` and to ours, is answered with the same `message` and `data.code`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { RawClient } from '../fixtures/rawClient.js';
import { forId, openRaw } from '../fixtures/rawClient.js';
import { createTestRouter } from '../fixtures/router.js';
import type { RunningServer, ServerKind } from '../fixtures/servers.js';
import { startServer } from '../fixtures/servers.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const isError = (frame: unknown) => typeof frame === 'object' && frame !== null && 'error' in frame;

async function serve(kind: ServerKind): Promise<RunningServer> {
  const server = await startServer(kind, { router: createTestRouter().router, createContext: () => ({ params: null }) });
  cleanups.push(() => server.close());
  return server;
}

async function open(url: string): Promise<RawClient> {
  const client = await openRaw(url);
  cleanups.push(() => client.close());
  return client;
}

/** The error a server answers `frame` with, on an established connection. */
async function answer(kind: ServerKind, send: (client: RawClient) => void): Promise<{ message: unknown; code: unknown }> {
  const server = await serve(kind);
  const client = await open(server.url);
  client.send({ id: 'ready', method: 'query', params: { path: 'echo', input: 1 } });
  await client.next(forId('ready'));
  send(client);
  const frame = (await client.next(isError)) as { error: { message: unknown; data: { code: unknown } } };
  return { message: frame.error.message, code: frame.error.data.code };
}

describe('the same bad frame gets the same words from stock and from us', () => {
  it.each([
    ['not JSON', '{nope'],
    ['not an object', '42'],
    ['no id', JSON.stringify({ method: 'query', params: { path: 'echo' } })],
    ['an id of the wrong type', JSON.stringify({ id: {}, method: 'query', params: { path: 'echo' } })],
    ['id null', JSON.stringify({ id: null, method: 'query', params: { path: 'echo' } })],
    ['a bad jsonrpc', JSON.stringify({ id: 1, jsonrpc: '1.0', method: 'query', params: { path: 'echo' } })],
    ['an unknown method', JSON.stringify({ id: 1, method: 'bogus', params: { path: 'echo' } })],
    ['params not an object', JSON.stringify({ id: 1, method: 'query', params: 'x' })],
    ['path not a string', JSON.stringify({ id: 1, method: 'query', params: { path: 7 } })],
    ['lastEventId not a string', JSON.stringify({ id: 1, method: 'subscription', params: { path: 'feed', lastEventId: 7 } })],
  ])('%s', async (_name, text) => {
    const stock = await answer('stock', (client) => client.sendText(text));
    expect(await answer('lanyard', (client) => client.sendText(text))).toEqual(stock);
  });

  it('a binary frame to a JSON server', async () => {
    const send = (client: RawClient) => client.ws.send(Buffer.from('{}'), { binary: true });
    expect(await answer('lanyard', send)).toEqual(await answer('stock', send));
  });

  it.each([
    ['not JSON', '{"method":'],
    ['a non-string value', JSON.stringify({ method: 'connectionParams', data: { token: 42 } })],
    ['data not an object', JSON.stringify({ method: 'connectionParams', data: 'token' })],
  ])('a connectionParams frame with %s', async (_name, text) => {
    const params = async (kind: ServerKind) => {
      const server = await serve(kind);
      const client = await open(`${server.url}/?connectionParams=1`);
      client.sendText(text);
      const frame = (await client.next(isError)) as { error: { message: unknown; data: { code: unknown } } };
      return { message: frame.error.message, code: frame.error.data.code };
    };
    expect(await params('lanyard')).toEqual(await params('stock'));
  });
});
