/**
 * Per-subscription grants, the client's side (PROTOCOL.md § 5.2), frame by frame against the
 * scripted server: where the token travels, when the provider is asked and why, the in-band
 * refresh, and how a grant subscription fails.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createTRPCClient, TRPCClientError } from '@trpc/client';
import { initTRPC } from '@trpc/server';
import type { GrantOption, GrantProvider, GrantRequest, WsClient } from '../../src/client/index.js';
import { createWSClient, wsLink } from '../../src/client/index.js';
import { grantErrorReason, GrantReason } from '../../src/protocol/index.js';
import { deferred, NodeWebSocket, sleep, waitFor } from './harness.js';
import type { ScriptedFrame, ScriptedServerOptions } from './scriptedServer.js';
import { closeScriptedServers, startScriptedServer } from './scriptedServer.js';

const t = initTRPC.create();
/** Only its type is used: the scripted server plays the server. */
function _makeRouter() {
  return t.router({
    doc: t.router({
      watch: t.procedure.input((v) => v as { docId: string } | undefined).subscription(async function* () {}),
      byName: t.procedure.input((v) => v as string).subscription(async function* () {}),
    }),
    echo: t.procedure.input((v) => v as string).query(({ input }) => input),
  });
}
type Router = ReturnType<typeof _makeRouter>;

const clients: WsClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
  await closeScriptedServers();
});

function connectWith(url: string, grant?: GrantProvider) {
  const wsClient = createWSClient({ url, WebSocket: NodeWebSocket, retryDelayMs: () => 5 });
  clients.push(wsClient);
  const trpc = createTRPCClient<Router>({ links: [wsLink(grant === undefined ? { client: wsClient } : { client: wsClient, grant })] });
  return { wsClient, trpc };
}

/** A provider that records each request and answers with `answer` (default: `t1`, `t2`, … in call order). */
function recordingProvider(answer?: (request: GrantRequest, n: number) => ReturnType<GrantProvider>) {
  const requests: GrantRequest[] = [];
  const grant: GrantProvider = (request) => {
    requests.push(request);
    return answer ? answer(request, requests.length) : `t${requests.length}`;
  };
  return { grant, requests, reasons: () => requests.map((r) => r.reason) };
}

/** Subscribes to `doc.watch` with `opts.input` (default `{ docId: '7' }`; pass `input: undefined` for none). */
function watch(trpc: ReturnType<typeof connectWith>['trpc'], opts: { input?: { docId: string } | undefined; grant?: GrantOption } = {}) {
  const errors: unknown[] = [];
  const lifecycle: string[] = [];
  const { grant } = opts;
  const input = 'input' in opts ? opts.input : { docId: '7' };
  const subscription = trpc.doc.watch.subscribe(input, {
    ...(grant === undefined ? {} : { context: { grant } }),
    onStarted: () => lifecycle.push('started'),
    onError: (error) => errors.push(error),
    onStopped: () => lifecycle.push('stopped'),
  });
  return { errors, lifecycle, subscription };
}

/** Answers every subscription with `started` and every `lanyard.grant` with `answerGrant` (default: accepted). */
function scripted(opts: ScriptedServerOptions & { answerGrant?: (message: ScriptedFrame['message']) => object | undefined } = {}) {
  return startScriptedServer({
    ...opts,
    onMessage: (message, socket, send) => {
      if (message.method === 'subscription') send({ id: message.id, result: { type: 'started' } });
      if (message.method === 'lanyard.grant') {
        const answer = opts.answerGrant ? opts.answerGrant(message) : { result: { type: 'data', data: { expiresAt: 9_999 } } };
        if (answer !== undefined) send({ id: message.id, ...answer });
      }
      opts.onMessage?.(message, socket, send);
    },
  });
}

const refresh = (subscription: unknown, seq: number, deadlineMs = 35_000) => ({
  id: null,
  method: 'lanyard.grant.refresh',
  params: { subscription, reason: 'expiring', expiresAt: Date.now() + 30_000, deadlineMs, seq },
});

const errorAnswer = (code: string, numeric: number, extra: object = {}) => ({
  error: { code: numeric, message: code, data: { code, ...extra } },
});

describe('sending a grant subscription', () => {
  it('puts the token in params.grant, beside the unchanged input, once the server said hello', async () => {
    const server = await scripted();
    const provider = recordingProvider();
    const { trpc } = connectWith(server.url, provider.grant);
    const sub = watch(trpc);
    await waitFor(() => server.framesOf('subscription').length === 1);
    expect(server.framesOf('subscription')[0]!.message).toEqual({
      id: 1,
      method: 'subscription',
      params: { path: 'doc.watch', input: { docId: '7' }, grant: 't1' },
    });
    expect(provider.requests).toEqual([{ path: 'doc.watch', input: { docId: '7' }, reason: 'subscribe' }]);
    await waitFor(() => sub.lifecycle.length === 1);
    expect(sub.errors).toEqual([]);
  });

  it('puts the token in the input as `grant` when the server is stock (no hello)', async () => {
    const server = await scripted({ stock: true });
    const { trpc } = connectWith(server.url, recordingProvider().grant);
    watch(trpc);
    watch(trpc, { input: undefined });
    await waitFor(() => server.framesOf('subscription').length === 2);
    expect(server.framesOf('subscription').map((f) => f.message.params)).toEqual([
      { path: 'doc.watch', input: { docId: '7', grant: 't1' } },
      { path: 'doc.watch', input: { grant: 't2' } },
    ]);
  });

  it('fails a subscription whose input is not an object when its grant must travel in the input (stock server)', async () => {
    const server = await scripted({ stock: true });
    const { trpc } = connectWith(server.url, () => 'tok');
    const errors: unknown[] = [];
    trpc.doc.byName.subscribe('readme', { onError: (error) => errors.push(error) });
    await waitFor(() => errors.length === 1);
    expect(errors[0]).toBeInstanceOf(TRPCClientError);
    expect((errors[0] as Error).message).toContain('a grant needs an object input (or none) on a server without trpc-lanyard');
    expect(server.framesOf('subscription')).toEqual([]);
  });

  it('holds the subscription while the server has not shown what it is, probes, and sends it after hello', async () => {
    const server = await scripted({ silent: true });
    const { trpc } = connectWith(server.url, () => 'tok');
    watch(trpc);
    await waitFor(() => server.raw.some((r) => r.text === 'PING'), 3_000, 'the probe');
    await sleep(30);
    expect(server.framesOf('subscription')).toEqual([]);
    server.send(1, { id: null, method: 'lanyard.hello', params: { version: 1, maxPayloadBytes: 1_048_576 } });
    await waitFor(() => server.framesOf('subscription').length === 1);
    expect(server.framesOf('subscription')[0]!.message.params).toEqual({ path: 'doc.watch', input: { docId: '7' }, grant: 'tok' });
  });

  it('sends a subscription whose provider answers undefined byte for byte as a client without a provider does', async () => {
    const plain = await scripted();
    const granted = await scripted();
    const a = connectWith(plain.url);
    const b = connectWith(granted.url, () => undefined);
    watch(a.trpc);
    watch(b.trpc);
    await waitFor(() => plain.framesOf('subscription').length === 1 && granted.framesOf('subscription').length === 1);
    const subscriptionText = (server: typeof plain) => server.raw.filter((r) => r.text.includes('"subscription"')).map((r) => r.text);
    expect(subscriptionText(granted)).toEqual(subscriptionText(plain));
    expect(subscriptionText(plain)).toEqual(['{"id":1,"method":"subscription","params":{"path":"doc.watch","input":{"docId":"7"}}}']);
  });

  it('uses the per-call context.grant over the link provider, a string being a fixed token; queries ignore it', async () => {
    const server = await scripted();
    const provider = recordingProvider();
    const { trpc } = connectWith(server.url, provider.grant);
    watch(trpc, { input: { docId: '1' }, grant: 'fixed' });
    expect(await trpc.echo.query('q', { context: { grant: 'never' } })).toBe('q');
    await waitFor(() => server.framesOf('subscription').length === 1);
    expect(server.framesOf('subscription')[0]!.message.params).toMatchObject({ grant: 'fixed' });
    expect(server.framesOf('query')[0]!.message.params).toEqual({ path: 'echo', input: 'q' });
    expect(provider.requests).toEqual([]);
  });

  it('does not send a subscription whose provider answers null, and fails it with grant-withdrawn', async () => {
    const server = await scripted();
    const { trpc } = connectWith(server.url, () => null);
    const sub = watch(trpc);
    await waitFor(() => sub.errors.length === 1);
    expect(grantErrorReason(sub.errors[0])).toBe(GrantReason.Withdrawn);
    expect((sub.errors[0] as TRPCClientError<Router>).data).toMatchObject({ lanyardReason: 'grant-withdrawn' });
    expect(server.framesOf('subscription')).toEqual([]);
  });

  it('retries a provider that throws three times in all, then fails the subscription with what it threw as the cause', async () => {
    const server = await scripted();
    const thrown = new Error('token service down');
    const provider = recordingProvider(() => {
      throw thrown;
    });
    const { trpc } = connectWith(server.url, provider.grant);
    const sub = watch(trpc);
    await waitFor(() => sub.errors.length === 1);
    expect(provider.reasons()).toEqual(['subscribe', 'subscribe', 'subscribe']);
    expect(sub.errors[0]).toBeInstanceOf(TRPCClientError);
    expect((sub.errors[0] as Error).cause).toBe(thrown);
    expect(server.framesOf('subscription')).toEqual([]);
  });

  it('sends the subscription once a provider that failed succeeds on a retry', async () => {
    const server = await scripted();
    const provider = recordingProvider((_request, n) => {
      if (n === 1) return Promise.reject(new Error('once'));
      return 'second';
    });
    const { trpc } = connectWith(server.url, provider.grant);
    const sub = watch(trpc);
    await waitFor(() => server.framesOf('subscription').length === 1);
    expect(server.framesOf('subscription')[0]!.message.params).toMatchObject({ grant: 'second' });
    expect(sub.errors).toEqual([]);
  });
});

describe('after the socket changes', () => {
  it('asks the provider again (resume) when the subscription is sent on a new socket after its socket was lost', async () => {
    const server = await scripted();
    const provider = recordingProvider();
    const { trpc } = connectWith(server.url, provider.grant);
    watch(trpc);
    await waitFor(() => server.framesOf('subscription').length === 1);
    server.clients[0]!.terminate();
    await waitFor(() => server.framesOf('subscription').length === 2, 3_000, 'the resubscription');
    const again = server.framesOf('subscription')[1]!;
    expect(again.socket).toBe(2);
    expect(again.message.params).toMatchObject({ grant: 't2' });
    expect(provider.reasons()).toEqual(['subscribe', 'resume']);
  });

  it('keeps the token when a reconnect notification moves the subscription (no provider call)', async () => {
    const server = await scripted();
    const provider = recordingProvider();
    const { trpc } = connectWith(server.url, provider.grant);
    const sub = watch(trpc);
    await waitFor(() => sub.lifecycle.length === 1);
    server.send(1, { id: null, method: 'reconnect' });
    await waitFor(() => server.framesOf('subscription').length === 2, 3_000, 'the move');
    const moved = server.framesOf('subscription')[1]!;
    expect(moved.socket).toBe(2);
    expect(moved.message.params).toMatchObject({ grant: 't1' });
    await waitFor(() => server.framesOf('subscription.stop').length === 1, 3_000, 'the old socket to stop it');
    expect(provider.reasons()).toEqual(['subscribe']);
    expect(sub.lifecycle).toEqual(['started']);
  });
});

describe('lanyard.grant.refresh', () => {
  it('answers with a fresh token from the provider (expiring), echoing seq as answers, on an id from the request counter', async () => {
    const server = await scripted();
    const provider = recordingProvider();
    const { trpc, wsClient } = connectWith(server.url, provider.grant);
    watch(trpc);
    await waitFor(() => server.framesOf('subscription').length === 1);
    server.send(1, refresh(1, 4));
    await waitFor(() => wsClient.stats.grantRefreshes === 1);
    expect(server.framesOf('lanyard.grant').map((f) => f.message)).toEqual([
      { id: 2, method: 'lanyard.grant', params: { subscription: 1, token: 't2', answers: 4 } },
    ]);
    expect(provider.requests[1]).toEqual({ path: 'doc.watch', input: { docId: '7' }, reason: 'expiring' });
    expect(await trpc.echo.query('next')).toBe('next');
    expect(server.framesOf('query')[0]!.message.id).toBe(3);
  });

  it('calls the provider once for two refresh requests that arrive while it is pending, and answers the newest seq', async () => {
    const server = await scripted();
    const pending = deferred<string>();
    const provider = recordingProvider((request) => (request.reason === 'expiring' ? pending.promise : 'first'));
    const { trpc } = connectWith(server.url, provider.grant);
    watch(trpc);
    await waitFor(() => server.framesOf('subscription').length === 1);
    server.send(1, refresh(1, 1));
    await waitFor(() => provider.requests.length === 2);
    server.send(1, refresh(1, 2));
    await sleep(30);
    pending.resolve('fresh');
    await waitFor(() => server.framesOf('lanyard.grant').length === 1);
    await sleep(30);
    expect(provider.reasons()).toEqual(['subscribe', 'expiring']);
    expect(server.framesOf('lanyard.grant').map((f) => f.message.params)).toEqual([{ subscription: 1, token: 'fresh', answers: 2 }]);
  });

  it('stops the subscription and fails it with grant-withdrawn when the provider answers null', async () => {
    const server = await scripted();
    const provider = recordingProvider((request) => (request.reason === 'expiring' ? null : 'first'));
    const { trpc } = connectWith(server.url, provider.grant);
    const sub = watch(trpc);
    await waitFor(() => sub.lifecycle.length === 1);
    server.send(1, refresh(1, 1));
    await waitFor(() => sub.errors.length === 1);
    expect(grantErrorReason(sub.errors[0])).toBe(GrantReason.Withdrawn);
    await waitFor(() => server.framesOf('subscription.stop').length === 1);
    expect(server.framesOf('subscription.stop')[0]!.message).toEqual({ id: 1, method: 'subscription.stop' });
    expect(server.framesOf('lanyard.grant')).toEqual([]);
  });

  it('presents the token again after an answer that is not a refusal (TIMEOUT), and not after a refusal', async () => {
    let answered = 0;
    const server = await scripted({
      answerGrant: () => {
        answered++;
        if (answered === 1) return errorAnswer('TIMEOUT', -32008);
        if (answered === 2) return { result: { type: 'data', data: { expiresAt: 9_999 } } };
        return errorAnswer('FORBIDDEN', -32003, { lanyardReason: 'grant-refused' });
      },
    });
    const provider = recordingProvider();
    const { trpc, wsClient } = connectWith(server.url, provider.grant);
    watch(trpc);
    await waitFor(() => server.framesOf('subscription').length === 1);
    server.send(1, refresh(1, 1));
    await waitFor(() => wsClient.stats.grantRefreshes === 1);
    expect(server.framesOf('lanyard.grant').map((f) => f.message.params)).toEqual([
      { subscription: 1, token: 't2', answers: 1 },
      { subscription: 1, token: 't2', answers: 1 },
    ]);
    server.send(1, refresh(1, 2));
    await waitFor(() => server.framesOf('lanyard.grant').length === 3);
    await sleep(50);
    expect(server.framesOf('lanyard.grant')).toHaveLength(3); // refused: the server ends the subscription itself
    expect(provider.reasons()).toEqual(['subscribe', 'expiring', 'expiring']);
  });

  it('keeps asking a provider that throws (expiring) until it gives a token', async () => {
    const server = await scripted();
    const provider = recordingProvider((request, n) => {
      if (request.reason === 'expiring' && n < 5) throw new Error('not yet');
      return `t${n}`;
    });
    const { trpc } = connectWith(server.url, provider.grant);
    watch(trpc);
    await waitFor(() => server.framesOf('subscription').length === 1);
    server.send(1, refresh(1, 1));
    await waitFor(() => server.framesOf('lanyard.grant').length === 1);
    expect(provider.reasons()).toEqual(['subscribe', 'expiring', 'expiring', 'expiring', 'expiring']);
    expect(server.framesOf('lanyard.grant')[0]!.message.params).toEqual({ subscription: 1, token: 't5', answers: 1 });
  });

  it('ignores a refresh request for an unknown subscription, a subscription without a grant, and malformed ones', async () => {
    const server = await scripted();
    const provider = recordingProvider((request) => (request.input === undefined ? undefined : 'tok'));
    const { trpc } = connectWith(server.url, provider.grant);
    watch(trpc); // with a grant
    watch(trpc, { input: undefined }); // none
    await waitFor(() => server.framesOf('subscription').length === 2);
    const idOf = (granted: boolean) =>
      server.framesOf('subscription').find((f) => ((f.message.params as { grant?: string }).grant !== undefined) === granted)!.message.id;
    server.send(1, refresh(99, 1));
    server.send(1, refresh(idOf(false), 2));
    server.send(1, { id: null, method: 'lanyard.grant.refresh', params: { subscription: idOf(true), seq: 'three' } });
    server.send(1, { id: null, method: 'lanyard.grant.refresh' });
    expect(await trpc.echo.query('after')).toBe('after');
    await sleep(30);
    expect(server.framesOf('lanyard.grant')).toEqual([]);
    expect(provider.reasons()).toEqual(['subscribe', 'subscribe']);
  });
});

describe('a stock server ending a grant subscription with grant-expired', () => {
  const expired = { error: { code: -32001, message: 'lanyard.grant-expired: renew', data: { code: 'UNAUTHORIZED', lanyardReason: 'grant-expired' } } };

  it('sends it again with a fresh token (expiring) and its last tracked event id; the subscriber sees nothing', async () => {
    const server = await scripted({
      stock: true,
      onMessage: (message, _socket, send) => {
        if (message.method !== 'subscription') return;
        const { input } = message.params as { input: { grant: string } };
        if (input.grant !== 't1') return;
        send({ id: message.id, result: { type: 'data', id: 'e1', data: 1 } });
        send({ id: message.id, ...expired });
        send({ id: message.id, result: { type: 'stopped' } });
      },
    });
    const provider = recordingProvider();
    const { trpc } = connectWith(server.url, provider.grant);
    const sub = watch(trpc);
    await waitFor(() => server.framesOf('subscription').length === 2, 3_000, 'the renewed subscription');
    const renewed = server.framesOf('subscription')[1]!.message;
    expect(renewed.params).toEqual({ path: 'doc.watch', input: { docId: '7', grant: 't2' }, lastEventId: 'e1' });
    expect(provider.reasons()).toEqual(['subscribe', 'expiring']);
    await sleep(30);
    expect(sub.errors).toEqual([]);
    expect(sub.lifecycle).toEqual(['started']);
    expect(server.clients).toHaveLength(1);
  });

  it('fails it with grant-expired when the provider gives the token it was ended under again', async () => {
    const server = await scripted({
      stock: true,
      onMessage: (message, _socket, send) => {
        if (message.method !== 'subscription') return;
        send({ id: message.id, ...expired });
        send({ id: message.id, result: { type: 'stopped' } });
      },
    });
    const provider = recordingProvider(() => 'cached');
    const { trpc } = connectWith(server.url, provider.grant);
    const sub = watch(trpc);
    await waitFor(() => sub.errors.length === 1);
    expect(grantErrorReason(sub.errors[0])).toBe(GrantReason.Expired);
    expect(provider.reasons()).toEqual(['subscribe', 'expiring']);
    expect(server.framesOf('subscription')).toHaveLength(2);
  });

  it('fails it as before on a server that said hello (it would have asked in band)', async () => {
    const server = await scripted({
      onMessage: (message, _socket, send) => {
        if (message.method !== 'subscription') return;
        send({ id: message.id, ...expired });
      },
    });
    const provider = recordingProvider();
    const { trpc } = connectWith(server.url, provider.grant);
    const sub = watch(trpc);
    await waitFor(() => sub.errors.length === 1);
    expect(grantErrorReason(sub.errors[0])).toBe(GrantReason.Expired);
    expect(provider.reasons()).toEqual(['subscribe']);
  });
});
