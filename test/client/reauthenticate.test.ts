import { afterEach, describe, expect, it } from 'vitest';
import { TRPCClientError } from '@trpc/client';
import type { WsAuthState, WsConnectionState } from '../../src/client/index.js';
import { TRPCWebSocketClosedError } from '../../src/client/index.js';
import { connect, deferred, disposeAll, sleep, startServer, waitFor } from './harness.js';
import { closeScriptedServers, startScriptedServer } from './scriptedServer.js';

afterEach(async () => {
  await disposeAll();
  await closeScriptedServers();
});

const refused = (code: 'UNAUTHORIZED' | 'FORBIDDEN') => ({
  error: { code: code === 'UNAUTHORIZED' ? -32001 : -32003, message: `refused: ${code}`, data: { code, httpStatus: code === 'UNAUTHORIZED' ? 401 : 403 } },
});

/** A `connectionParams` function that counts its calls and records why it was called. */
function tokenCounter(delayMs = 0) {
  const reasons: string[] = [];
  const fn = async ({ reason }: { reason: string }) => {
    reasons.push(reason);
    const n = reasons.length;
    if (delayMs > 0) await sleep(delayMs);
    return { token: `t${n}` };
  };
  return { fn, reasons };
}

describe('reauthenticate() against a server that said lanyard.hello', () => {
  it('sends fresh connectionParams in-band on an id from the request counter and resolves with the new expiry', async () => {
    const server = await startScriptedServer({
      sessionExpiresAt: () => 1_000,
      answerAuthenticate: () => ({ result: { type: 'data', data: { expiresAt: 2_000 } } }),
    });
    const tokens = tokenCounter();
    const { trpc, wsClient } = connect(server.url, { connectionParams: tokens.fn });
    expect(await trpc.echo.query('a')).toBe('a');
    await waitFor(() => wsClient.session !== null);
    expect(wsClient.session).toEqual({ expiresAt: 1_000 });

    await expect(wsClient.reauthenticate()).resolves.toEqual({ expiresAt: 2_000 });
    expect(await trpc.echo.query('b')).toBe('b');

    expect(server.framesOf('lanyard.authenticate').map((f) => f.message)).toEqual([
      { id: 2, method: 'lanyard.authenticate', params: { connectionParams: { token: 't2' } } },
    ]);
    const queryIds = server.framesOf('query').map((f) => f.message.id);
    expect(queryIds).toEqual([1, 3]); // the shared counter: no id is used twice
    expect(tokens.reasons).toEqual(['connect', 'reauthenticate']);
    expect(wsClient.session).toEqual({ expiresAt: 2_000 });
    expect(wsClient.stats).toEqual({ socketsOpened: 1, refreshes: 1, grantRefreshes: 0 });
    expect(server.clients).toHaveLength(1); // nothing was torn down
  });

  it('reports authenticating → authenticated → refreshing → authenticated in authState; connectionState emits only its own changes', async () => {
    let answer!: () => void;
    const server = await startScriptedServer({
      answerAuthenticate: (_params, _socket, ws) => {
        answer = () => ws.send(JSON.stringify({ id: 2, result: { type: 'data', data: { expiresAt: null } } }));
        return undefined;
      },
    });
    const { trpc, wsClient } = connect(server.url, { connectionParams: { token: 'x' } });
    const states: WsConnectionState[] = [];
    wsClient.connectionState.subscribe({ next: (s) => states.push(s) });
    const auths: WsAuthState[] = [];
    wsClient.authState.subscribe({ next: (s) => auths.push(s) });
    await trpc.echo.query('a');
    await waitFor(() => wsClient.connectionState.get().auth === 'authenticated');
    const flight = wsClient.reauthenticate();
    await waitFor(() => server.framesOf('lanyard.authenticate').length === 1);
    expect(wsClient.connectionState.get()).toMatchObject({ state: 'pending', error: null, auth: 'refreshing' });
    expect(await trpc.echo.query('during')).toBe('during'); // calls keep flowing
    answer();
    await flight;
    expect(auths.map((s) => s.auth)).toEqual(['none', 'authenticating', 'authenticated', 'refreshing', 'authenticated']);
    expect(states.map((s) => s.state)).toEqual(['connecting', 'pending']); // as tRPC's: no re-emission when auth changes
  });

  it('shares one flight between concurrent calls and a server refresh request', async () => {
    const server = await startScriptedServer({
      answerAuthenticate: () => ({ result: { type: 'data', data: { expiresAt: 5 } } }),
    });
    const tokens = tokenCounter(20);
    const { trpc, wsClient } = connect(server.url, { connectionParams: tokens.fn });
    await trpc.echo.query('a');
    await waitFor(() => wsClient.session !== null);
    const first = wsClient.reauthenticate();
    const second = wsClient.reauthenticate();
    server.send(1, { id: null, method: 'lanyard.refresh', params: { reason: 'expiring', expiresAt: 10, deadlineMs: 1000 } });
    expect(await Promise.all([first, second])).toEqual([{ expiresAt: 5 }, { expiresAt: 5 }]);
    await sleep(30);
    expect(server.framesOf('lanyard.authenticate')).toHaveLength(1);
    expect(tokens.reasons).toEqual(['connect', 'reauthenticate']);
    // A later flight evaluates connectionParams again: nothing was cached.
    await wsClient.reauthenticate();
    expect(tokens.reasons).toEqual(['connect', 'reauthenticate', 'reauthenticate']);
    expect(server.framesOf('lanyard.authenticate').map((f) => f.message.params)).toEqual([
      { connectionParams: { token: 't2' } },
      { connectionParams: { token: 't3' } },
    ]);
  });

  it('rejects with a TRPCClientError whose data.code is UNAUTHORIZED, keeps the socket, and shows it in authError', async () => {
    const server = await startScriptedServer({ answerAuthenticate: () => refused('UNAUTHORIZED') });
    const { trpc, wsClient } = connect(server.url, { connectionParams: { token: 'x' } });
    await trpc.echo.query('a');
    await waitFor(() => wsClient.session !== null);
    const error = await wsClient.reauthenticate().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TRPCClientError);
    expect((error as TRPCClientError<never>).data).toMatchObject({ code: 'UNAUTHORIZED' });
    expect(wsClient.connectionState.get()).toMatchObject({ state: 'pending', error: null, auth: 'authenticated' });
    expect(wsClient.connectionState.get().authError?.data).toMatchObject({ code: 'UNAUTHORIZED' });
    expect(await trpc.echo.query('still')).toBe('still');
    expect(wsClient.stats.refreshes).toBe(0);
  });

  it('rejects with FORBIDDEN, then stops on the 4403 that follows, its reason in the state error', async () => {
    const server = await startScriptedServer({
      answerAuthenticate: (_params, _socket, ws) => {
        ws.send(JSON.stringify({ id: 2, ...refused('FORBIDDEN') }));
        ws.close(4403, 'FORBIDDEN');
        return undefined;
      },
    });
    const { trpc, wsClient } = connect(server.url, { connectionParams: { token: 'x' }, retryDelayMs: () => 5 });
    await trpc.echo.query('a');
    await waitFor(() => wsClient.session !== null);
    const error = await wsClient.reauthenticate().catch((e: unknown) => e);
    expect((error as TRPCClientError<never>).data).toMatchObject({ code: 'FORBIDDEN' });
    await waitFor(() => wsClient.connectionState.get().error !== null);
    const state = wsClient.connectionState.get();
    expect(state).toMatchObject({ state: 'connecting', auth: 'none' });
    expect(state.error?.message).toBe('WebSocket closed');
    expect(state.error?.cause).toMatchObject({ code: 4403, reason: 'FORBIDDEN' });
    await sleep(50);
    expect(server.clients).toHaveLength(1);
  });

  it('answers the server’s lanyard.refresh in-band with connectionParams asked for reason "refresh"; a refusal goes to authError, not thrown', async () => {
    let refuse = false;
    const server = await startScriptedServer({
      answerAuthenticate: () => (refuse ? refused('UNAUTHORIZED') : { result: { type: 'data', data: { expiresAt: 99 } } }),
    });
    const tokens = tokenCounter();
    const { trpc, wsClient } = connect(server.url, { connectionParams: tokens.fn });
    await trpc.echo.query('a');
    await waitFor(() => wsClient.session !== null);
    server.send(1, { id: null, method: 'lanyard.refresh', params: { reason: 'expiring', expiresAt: 10, deadlineMs: 1000 } });
    await waitFor(() => wsClient.stats.refreshes === 1);
    expect(wsClient.session).toEqual({ expiresAt: 99 });
    expect(tokens.reasons).toEqual(['connect', 'refresh']);

    refuse = true;
    server.send(1, { id: null, method: 'lanyard.refresh', params: { reason: 'requested', expiresAt: 99, deadlineMs: 1000 } });
    await waitFor(() => wsClient.connectionState.get().authError !== null);
    expect(wsClient.connectionState.get().authError?.data).toMatchObject({ code: 'UNAUTHORIZED' });
    expect(wsClient.connectionState.get().error).toBeNull();
  });

  it('waits for the session before re-authenticating a socket whose credentials went out earlier', async () => {
    const server = await startScriptedServer({
      sessionExpiresAt: () => undefined, // confirmed by hand below
      answerAuthenticate: () => ({ result: { type: 'data', data: { expiresAt: 7 } } }),
    });
    const { trpc, wsClient } = connect(server.url, { connectionParams: { token: 'x' } });
    await trpc.echo.query('a');
    const confirm = () => server.send(1, { id: null, method: 'lanyard.session', params: { expiresAt: 1 } });
    expect(wsClient.connectionState.get().auth).toBe('authenticating');
    const flight = wsClient.reauthenticate();
    await sleep(30);
    expect(server.framesOf('lanyard.authenticate')).toHaveLength(0);
    confirm();
    await expect(flight).resolves.toEqual({ expiresAt: 7 });
  });
});

describe('reauthenticate() without an open socket', () => {
  it('opens one in lazy mode whose connectionParams are fresh, and resolves once the server confirms it; nothing in-band', async () => {
    const server = await startScriptedServer({ sessionExpiresAt: () => 42 });
    const tokens = tokenCounter();
    const { wsClient } = connect(server.url, { connectionParams: tokens.fn, lazy: { enabled: true, closeMs: 20 } });
    await sleep(20);
    expect(server.clients).toHaveLength(0);
    await expect(wsClient.reauthenticate()).resolves.toEqual({ expiresAt: 42 });
    expect(server.clients).toHaveLength(1);
    expect(tokens.reasons).toEqual(['reauthenticate']);
    expect(server.framesOf('lanyard.authenticate')).toHaveLength(0);
    await waitFor(() => server.clients[0]!.readyState === 3, 2_000, 'the lazy close');
  });

  it('rejects when the client is closed while it waits', async () => {
    const server = await startScriptedServer({ sessionExpiresAt: () => undefined });
    const { wsClient } = connect(server.url, { connectionParams: { token: 'x' } });
    const flight = wsClient.reauthenticate().catch((e: unknown) => e);
    await waitFor(() => server.framesOf('connectionParams').length === 1);
    await wsClient.close();
    expect(await flight).toBeInstanceOf(TRPCClientError);
  });

  it('rejects with the credential source’s error, shown in authError', async () => {
    const server = await startScriptedServer({ answerAuthenticate: () => ({ result: { type: 'data', data: { expiresAt: 1 } } }) });
    let fail = false;
    const { trpc, wsClient } = connect(server.url, {
      connectionParams: async () => {
        if (fail) throw new Error('token service down');
        return { token: 'x' };
      },
    });
    await trpc.echo.query('a');
    await waitFor(() => wsClient.session !== null);
    fail = true;
    await expect(wsClient.reauthenticate()).rejects.toThrow('token service down');
    expect(wsClient.connectionState.get().authError?.message).toBe('token service down');
    expect(server.framesOf('lanyard.authenticate')).toHaveLength(0);
  });
});

describe('against a stock tRPC server', () => {
  it('reconnects make-before-break with fresh connectionParams and resolves { expiresAt: null }; session stays null, auth none', async () => {
    const server = await startServer();
    const tokens = tokenCounter();
    const { trpc, wsClient } = connect(server.url, { connectionParams: tokens.fn, retryDelayMs: () => 0 });
    expect(await trpc.whoami.query()).toBe('t1');
    await waitFor(() => wsClient.connectionState.get().auth === 'none');
    await expect(wsClient.reauthenticate()).resolves.toEqual({ expiresAt: null });
    expect(await trpc.whoami.query()).toBe('t2');
    expect(server.sockets).toHaveLength(2);
    await waitFor(() => server.sockets[0]!.ws.readyState === 3, 2_000, 'the old socket to close');
    expect(wsClient.session).toBeNull();
    expect(wsClient.connectionState.get()).toMatchObject({ state: 'pending', auth: 'none', authError: null });
    expect(tokens.reasons).toEqual(['connect', 'reauthenticate']);
    expect(wsClient.stats).toEqual({ socketsOpened: 2, refreshes: 0, grantRefreshes: 0 });
  });

  it('learns the server is stock with a PING when nothing else would tell it, so auth leaves "authenticating"', async () => {
    const server = await startServer();
    const { wsClient } = connect(server.url, { connectionParams: { token: 'x' } });
    await waitFor(() => wsClient.connectionState.get().state === 'pending');
    await waitFor(() => wsClient.connectionState.get().auth === 'none');
    expect(server.frames.filter((f) => f.text === 'PING')).toHaveLength(1);
  });
});

describe('close errors', () => {
  it('carry the close code and the server’s reason string', async () => {
    const server = await startScriptedServer();
    const { trpc, wsClient } = connect(server.url, { retryDelayMs: () => 5 });
    await trpc.echo.query('a');
    const errors: unknown[] = [];
    trpc.feed.subscribe({}, { onError: (e) => errors.push(e) });
    await waitFor(() => server.frames.some((f) => f.message.method === 'subscription'));
    server.clients[0]!.close(4410, 'password changed');
    await waitFor(() => errors.length === 1);
    const cause = (errors[0] as TRPCClientError<never>).cause as TRPCWebSocketClosedError;
    expect(cause).toBeInstanceOf(TRPCWebSocketClosedError);
    expect(cause.code).toBe(4410);
    expect(cause.reason).toBe('password changed');
    expect(wsClient.connectionState.get().error?.message).toBe('WebSocket closed');
  });
});

describe('in-band refusals the server explains, and refresh requests that arrive mid-fetch (PROTOCOL.md § 5.1)', () => {
  const accepted = { result: { type: 'data', data: { expiresAt: null } } };
  const refusedBecause = (lanyardReason: 'not-fresher' | 'rate-limited') => ({
    error: { code: -32001, message: `refused: ${lanyardReason}`, data: { code: 'UNAUTHORIZED', httpStatus: 401, lanyardReason } },
  });
  const refreshRequest = (seq: number) => ({ id: null, method: 'lanyard.refresh', params: { reason: 'requested', expiresAt: null, deadlineMs: 5_000, seq } });
  const presented = (server: Awaited<ReturnType<typeof startScriptedServer>>) =>
    server.framesOf('lanyard.authenticate').map((f) => f.message.params as { connectionParams: { token: string }; answers?: number });

  /** `connectionParams` whose in-band fetches wait until the test releases them, one by one. */
  function gatedCredentials() {
    const reasons: string[] = [];
    const gates: Array<ReturnType<typeof deferred<void>>> = [];
    const fn = async ({ reason }: { reason: string }) => {
      reasons.push(reason);
      const n = reasons.length;
      if (reason !== 'connect') {
        const gate = deferred();
        gates.push(gate);
        await gate.promise;
      }
      return { token: `t${n}` };
    };
    return { fn, reasons, gates };
  }

  it('not-fresher: fetches fresh credentials (reason refused) and presents once more', async () => {
    let answered = 0;
    const server = await startScriptedServer({ answerAuthenticate: () => (++answered === 1 ? refusedBecause('not-fresher') : accepted) });
    const tokens = tokenCounter();
    const { trpc, wsClient } = connect(server.url, { connectionParams: tokens.fn });
    await trpc.echo.query('a');
    await waitFor(() => wsClient.session !== null);
    await expect(wsClient.reauthenticate()).resolves.toEqual({ expiresAt: null });
    expect(tokens.reasons).toEqual(['connect', 'reauthenticate', 'refused']);
    expect(presented(server).map((p) => p.connectionParams.token)).toEqual(['t2', 't3']);
  });

  it('not-fresher twice: gives up after one more presentation, with the typed reason', async () => {
    const server = await startScriptedServer({ answerAuthenticate: () => refusedBecause('not-fresher') });
    const tokens = tokenCounter();
    const { trpc, wsClient } = connect(server.url, { connectionParams: tokens.fn });
    await trpc.echo.query('a');
    await waitFor(() => wsClient.session !== null);
    const error = await wsClient.reauthenticate().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TRPCClientError);
    expect((error as TRPCClientError<never>).data).toMatchObject({ code: 'UNAUTHORIZED', lanyardReason: 'not-fresher' });
    await sleep(50);
    expect(presented(server)).toHaveLength(2);
    expect(wsClient.authState.get().authError).toBe(error);
  });

  it('rate-limited: waits, then presents the same credentials once more', async () => {
    let answered = 0;
    const server = await startScriptedServer({ answerAuthenticate: () => (++answered === 1 ? refusedBecause('rate-limited') : accepted) });
    const tokens = tokenCounter();
    const { trpc, wsClient } = connect(server.url, { connectionParams: tokens.fn });
    await trpc.echo.query('a');
    await waitFor(() => wsClient.session !== null);
    await expect(wsClient.reauthenticate()).resolves.toEqual({ expiresAt: null });
    expect(tokens.reasons).toEqual(['connect', 'reauthenticate']);
    expect(presented(server).map((p) => p.connectionParams.token)).toEqual(['t2', 't2']);
  });

  it('a refresh request arriving while an earlier fetch is in flight is answered by credentials fetched after it (answers = its seq)', async () => {
    const server = await startScriptedServer({ answerAuthenticate: () => accepted });
    const credentials = gatedCredentials();
    const { trpc, wsClient } = connect(server.url, { connectionParams: credentials.fn });
    await trpc.echo.query('a');
    await waitFor(() => wsClient.session !== null);
    server.send(1, refreshRequest(1));
    await waitFor(() => credentials.gates.length === 1);
    server.send(1, refreshRequest(2));
    await trpc.echo.query('b'); // answered after the second request: the client has read it
    credentials.gates[0]!.resolve();
    await waitFor(() => credentials.gates.length === 2, 3_000, 'a second fetch');
    credentials.gates[1]!.resolve();
    await waitFor(() => wsClient.stats.refreshes === 2);
    expect(presented(server).map((p) => [p.connectionParams.token, p.answers])).toEqual([
      ['t2', 1],
      ['t3', 2],
    ]);
    expect(credentials.reasons).toEqual(['connect', 'refresh', 'refresh']);
  });

  it('requestReauthentication() during a reauthenticate() fetch is not satisfied by it: the client fetches again', async () => {
    const server = await startScriptedServer({ answerAuthenticate: () => accepted });
    const credentials = gatedCredentials();
    const { trpc, wsClient } = connect(server.url, { connectionParams: credentials.fn });
    await trpc.echo.query('a');
    await waitFor(() => wsClient.session !== null);
    const flight = wsClient.reauthenticate();
    await waitFor(() => credentials.gates.length === 1);
    server.send(1, refreshRequest(1));
    await trpc.echo.query('b');
    credentials.gates[0]!.resolve();
    await waitFor(() => credentials.gates.length === 2, 3_000, 'a second fetch');
    credentials.gates[1]!.resolve();
    await flight;
    expect(presented(server).map((p) => p.answers)).toEqual([undefined, 1]);
    expect(credentials.reasons).toEqual(['connect', 'reauthenticate', 'refresh']);
  });
});

describe('a credential source that fails in band', () => {
  it('rejects reauthenticate() with its error as the cause, and reports it to onError and authState.authError', async () => {
    const server = await startScriptedServer({ answerAuthenticate: () => ({ result: { type: 'data', data: { expiresAt: null } } }) });
    const down = new Error('token service down');
    const onErrors: unknown[] = [];
    const { trpc, wsClient } = connect(server.url, {
      connectionParams: ({ reason }) => {
        if (reason !== 'connect') throw down;
        return { token: 't' };
      },
      onError: (event) => onErrors.push(event),
    });
    await trpc.echo.query('a');
    await waitFor(() => wsClient.session !== null);
    const error = await wsClient.reauthenticate().catch((e: unknown) => e);
    expect((error as TRPCClientError<never>).cause).toBe(down);
    expect(onErrors).toEqual([expect.objectContaining({ type: 'error', error: down })]);
    expect(wsClient.authState.get().authError?.cause).toBe(down);
    expect(server.framesOf('lanyard.authenticate')).toEqual([]);
  });
});
