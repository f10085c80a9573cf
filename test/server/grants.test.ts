/**
 * Per-subscription grants on the wire (PROTOCOL.md § 5.2), with raw sockets: the token beside the
 * input or in it, the in-band refresh and its answers, refusal and expiry ending only that
 * subscription, events held from `expiresAt` and replayed after a late refresh, resume and
 * session changes re-verifying the grant, and every malformed or unsolicited `lanyard.grant`
 * answered without running anything.
 */
import type { TRPCError } from '@trpc/server';
import { afterEach, describe, expect, it } from 'vitest';
import { GrantReason } from '../../src/protocol/index.js';
import type { RequireGrantOptions } from '../../src/server/index.js';
import { eventually } from '../broker/redisHarness.js';
import { authenticateFrame, dataIds, method, signIn } from '../fixtures/authSteps.js';
import type { DocGrant, GrantSession } from '../fixtures/grantRouter.js';
import { createGrantFixture } from '../fixtures/grantRouter.js';
import type { RawClient } from '../fixtures/rawClient.js';
import { forId, openRaw } from '../fixtures/rawClient.js';
import { startServer } from '../fixtures/servers.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

type GrantOptions = Partial<RequireGrantOptions<{ session: GrantSession | null }, DocGrant>>;

async function serve(grantOptions: GrantOptions = {}, extra: Record<string, unknown> = {}) {
  const fixture = createGrantFixture(grantOptions);
  const errors: TRPCError[] = [];
  const server = await startServer<typeof fixture.router, GrantSession>('lanyard', {
    router: fixture.router,
    authenticate: fixture.authenticate,
    createContext: fixture.createContext,
    onError: ({ error }) => void errors.push(error),
    ...extra,
  });
  cleanups.push(() => server.close());
  const connect = async (query: string): Promise<RawClient> => {
    const client = await openRaw(`${server.url}/${query}`);
    cleanups.push(() => client.close());
    return client;
  };
  /** A raw socket signed in as `user`: negotiated (`lanyard=1`) unless `lanyard` is false. */
  const rawSignIn = async (user: string, lanyard = true) => (await signIn(connect, user, lanyard)).client;
  return { fixture, server, handler: server.handler!, errors, rawSignIn };
}

const subscribe = (id: number, path: string, input: Record<string, unknown>, grant?: string, lastEventId?: string) => ({
  id,
  method: 'subscription',
  params: { path, input, ...(grant === undefined ? {} : { grant }), ...(lastEventId === undefined ? {} : { lastEventId }) },
});
const grantFrame = (id: number | string, subscription: number, token: string, answers: number) => ({
  id,
  method: 'lanyard.grant',
  params: { subscription, token, answers },
});
const resultType = (frame: unknown): string | undefined => (frame as { result?: { type?: string } }).result?.type;
const isType = (id: number, type: string) => (frame: unknown) => forId(id)(frame) && resultType(frame) === type;
const isError = (id: number) => (frame: unknown) => forId(id)(frame) && typeof frame === 'object' && frame !== null && 'error' in frame;
const errorData = (frame: unknown) => (frame as { error: { message: string; data: { code: string; lanyardReason?: string } } }).error;
interface RefreshFrame {
  params: { subscription: number; reason: string; expiresAt: number; deadlineMs: number; seq: number };
}
const refreshFor = (subscription: number) => (frame: unknown) =>
  method('lanyard.grant.refresh')(frame) && (frame as RefreshFrame).params.subscription === subscription;

describe('per-subscription grants, raw sockets', () => {
  it('takes the token beside the input from a negotiated client, gives the procedure the verified grant, and streams', async () => {
    const { fixture, rawSignIn } = await serve();
    const client = await rawSignIn('alice');
    client.send(subscribe(1, 'doc', { docId: 'd1' }, fixture.issue('d1', 'alice', 60_000)));
    await client.next(isType(1, 'started'));
    fixture.publish('d1');
    await eventually(() => dataIds(client, 1).length === 1, 'the event');
    expect(fixture.verifications).toEqual([{ token: 'grant-1', input: { docId: 'd1' }, ok: true }]);
    client.send({ id: 2, method: 'query', params: { path: 'grantOf', input: { docId: 'd1', grant: fixture.issue('d1', 'alice', 60_000) } } });
    expect(((await client.next(forId(2))) as { result: { data: unknown } }).result.data).toEqual({ docId: 'd1', user: 'alice' });
  });

  it('takes the token from the input (a stock client) and hides it from the procedure', async () => {
    const { fixture, rawSignIn } = await serve();
    const client = await rawSignIn('alice', false);
    client.send(subscribe(1, 'doc', { docId: 'd1', grant: fixture.issue('d1', 'alice', 60_000) }));
    await client.next(isType(1, 'started'));
    fixture.publish('d1');
    await eventually(() => dataIds(client, 1).length === 1, 'the event');
    expect(fixture.verifications).toEqual([{ token: 'grant-1', input: { docId: 'd1' }, ok: true }]);
  });

  it('refuses a subscription without a token at set-up: UNAUTHORIZED, grant-required, no started, no source', async () => {
    const { fixture, rawSignIn } = await serve();
    const client = await rawSignIn('alice');
    client.send(subscribe(1, 'doc', { docId: 'd1' }));
    const error = errorData(await client.next(isError(1)));
    expect(error.data).toMatchObject({ code: 'UNAUTHORIZED', lanyardReason: GrantReason.Required });
    expect(error.message).toMatch(/^lanyard\.grant-required: /);
    expect(fixture.running('doc', 'd1')).toBe(0);
    client.send({ id: 2, method: 'query', params: { path: 'me' } });
    await client.next(forId(2));
    expect(client.received.filter(forId(1))).toEqual([]);
  });

  it('refuses a token verify rejects with its own code and grant-refused; a wrong document is FORBIDDEN', async () => {
    const { fixture, rawSignIn } = await serve();
    const client = await rawSignIn('alice');
    client.send(subscribe(1, 'doc', { docId: 'd2' }, fixture.issue('d1', 'alice', 60_000)));
    client.send(subscribe(2, 'doc', { docId: 'd1' }, 'forged'));
    client.send(subscribe(3, 'doc', { docId: 'd1' }, fixture.issue('d1', 'alice', -1)));
    expect(errorData(await client.next(isError(1))).data).toMatchObject({ code: 'FORBIDDEN', lanyardReason: GrantReason.Refused });
    expect(errorData(await client.next(isError(2))).data).toMatchObject({ code: 'UNAUTHORIZED', lanyardReason: GrantReason.Refused });
    expect(errorData(await client.next(isError(3))).data).toMatchObject({ code: 'UNAUTHORIZED', lanyardReason: GrantReason.Refused });
    expect(fixture.running('doc', 'd1') + fixture.running('doc', 'd2')).toBe(0);
  });

  it('asks a negotiated client for a fresh grant before expiry; an accepted one keeps the subscription going untouched', async () => {
    const { fixture, rawSignIn } = await serve();
    const client = await rawSignIn('alice');
    client.send(subscribe(7, 'doc', { docId: 'd1' }, fixture.issue('d1', 'alice', 1_500)));
    await client.next(isType(7, 'started'));
    fixture.publish('d1');
    const refresh = (await client.next(refreshFor(7), 3_000)) as RefreshFrame;
    expect(refresh.params).toMatchObject({ subscription: 7, reason: 'expiring', seq: 1 });
    expect(refresh.params.deadlineMs).toBeGreaterThan(0);
    expect(refresh.params.deadlineMs).toBeLessThanOrEqual(1_500 + 500);
    const fresh = fixture.issue('d1', 'alice', 60_000);
    client.send(grantFrame(20, 7, fresh, 1));
    const answer = (await client.next(forId(20))) as { result: { type: string; data: { expiresAt: number } } };
    expect(answer.result.type).toBe('data');
    expect(answer.result.data.expiresAt).toBeGreaterThan(Date.now() + 50_000);
    await new Promise((resolve) => setTimeout(resolve, 2_200)); // past the first grant's expiry and grace
    fixture.publish('d1');
    await eventually(() => dataIds(client, 7).length === 2, 'the event after the refresh');
    expect(dataIds(client, 7)).toEqual([1, 2]);
    expect(client.received.filter((f) => forId(7)(f) && resultType(f) === 'started')).toHaveLength(0); // taken by next()
    expect(client.received.filter(isError(7))).toEqual([]);
    expect(fixture.running('doc', 'd1')).toBe(1);
  });

  it('ends only the refused subscription when the refresh is refused; the other subscriptions and the socket go on', async () => {
    const { fixture, rawSignIn } = await serve();
    const client = await rawSignIn('alice');
    client.send(subscribe(1, 'doc', { docId: 'd1' }, fixture.issue('d1', 'alice', 1_500)));
    client.send(subscribe(2, 'doc', { docId: 'd2' }, fixture.issue('d2', 'alice', 60_000)));
    client.send(subscribe(3, 'feed', { docId: 'd1' }));
    await Promise.all([1, 2, 3].map((id) => client.next(isType(id, 'started'))));
    const refresh = (await client.next(refreshFor(1), 3_000)) as RefreshFrame;
    fixture.withdraw('d1', 'alice');
    client.send(grantFrame(30, 1, fixture.issue('d1', 'alice', 60_000), refresh.params.seq));
    expect(errorData(await client.next(isError(30))).data).toMatchObject({ code: 'FORBIDDEN' });
    const ended = errorData(await client.next(isError(1)));
    expect(ended.data).toMatchObject({ code: 'FORBIDDEN', lanyardReason: GrantReason.Refused });
    await client.next(isType(1, 'stopped'));
    await eventually(() => fixture.running('doc', 'd1') === 0, "d1's source released");
    fixture.publish('d1');
    fixture.publish('d2');
    await eventually(() => dataIds(client, 3).length === 1 && dataIds(client, 2).length === 1, 'the others stream on');
    expect(dataIds(client, 1)).toEqual([]);
    client.send({ id: 4, method: 'query', params: { path: 'me' } });
    await client.next(forId(4));
  });

  it('holds events from expiresAt when no fresh grant came, ends the subscription at the grace with grant-expired; the socket stays', async () => {
    const { fixture, rawSignIn } = await serve({ refreshAheadMs: 300, graceMs: 400 });
    const client = await rawSignIn('alice');
    const expiresAt = Date.now() + 800;
    client.send(subscribe(1, 'doc', { docId: 'd1' }, fixture.issue('d1', 'alice', 800)));
    await client.next(isType(1, 'started'));
    await client.next(refreshFor(1), 2_000);
    while (Date.now() < expiresAt + 50) await new Promise((resolve) => setTimeout(resolve, 20));
    fixture.publish('d1'); // after expiry, within the grace: held
    const ended = errorData(await client.next(isError(1), 2_000));
    expect(Date.now()).toBeGreaterThanOrEqual(expiresAt + 400 - 20);
    expect(ended.data).toMatchObject({ code: 'UNAUTHORIZED', lanyardReason: GrantReason.Expired });
    expect(ended.message).toMatch(/^lanyard\.grant-expired: /);
    await client.next(isType(1, 'stopped'));
    expect(dataIds(client, 1)).toEqual([]);
    client.send({ id: 2, method: 'query', params: { path: 'me' } });
    await client.next(forId(2));
  });

  it('replays the held events exactly once when the fresh grant lands after expiry, within the grace', async () => {
    const { fixture, rawSignIn } = await serve({ refreshAheadMs: 300, graceMs: 1_500 });
    const client = await rawSignIn('alice');
    const expiresAt = Date.now() + 800;
    client.send(subscribe(1, 'doc', { docId: 'd1' }, fixture.issue('d1', 'alice', 800)));
    await client.next(isType(1, 'started'));
    fixture.publish('d1');
    const refresh = (await client.next(refreshFor(1), 2_000)) as RefreshFrame;
    while (Date.now() < expiresAt + 50) await new Promise((resolve) => setTimeout(resolve, 20));
    fixture.publish('d1');
    fixture.publish('d1');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(dataIds(client, 1)).toEqual([1]); // held
    client.send(grantFrame(9, 1, fixture.issue('d1', 'alice', 60_000), refresh.params.seq));
    await client.next(forId(9));
    await eventually(() => dataIds(client, 1).length === 3, 'the held events, replayed');
    fixture.publish('d1');
    await eventually(() => dataIds(client, 1).length === 4, 'live again');
    expect(dataIds(client, 1)).toEqual([1, 2, 3, 4]);
    expect(client.received.filter(isError(1))).toEqual([]);
    // the replay re-used the refresh's verification: one verify per token
    expect(fixture.verifications.map((v) => v.token)).toEqual(['grant-1', 'grant-2']);
  });

  it('ends a stock client’s grant subscription before the grant expires, with grant-expired; it resubscribes with a fresh token and loses nothing', async () => {
    const { fixture, rawSignIn } = await serve({ refreshAheadMs: 400 });
    const client = await rawSignIn('alice', false);
    const expiresAt = Date.now() + 1_000;
    client.send(subscribe(1, 'doc', { docId: 'd1', grant: fixture.issue('d1', 'alice', 1_000) }));
    await client.next(isType(1, 'started'));
    fixture.publish('d1');
    const ended = errorData(await client.next(isError(1), 2_000));
    expect(Date.now()).toBeLessThan(expiresAt);
    expect(ended.data).toMatchObject({ code: 'UNAUTHORIZED', lanyardReason: GrantReason.Expired });
    await client.next(isType(1, 'stopped'));
    fixture.publish('d1');
    client.send(subscribe(2, 'doc', { docId: 'd1', grant: fixture.issue('d1', 'alice', 60_000) }, undefined, '1'));
    await eventually(() => dataIds(client, 2).length === 1, 'the missed event, replayed');
    expect([...dataIds(client, 1), ...dataIds(client, 2)]).toEqual([1, 2]);
    expect(client.received.filter(method('lanyard.grant.refresh'))).toEqual([]);
  });

  it('re-verifies the grant before any replay when a client resumes with lastEventId: a refused grant replays nothing', async () => {
    const { fixture, rawSignIn } = await serve();
    const client = await rawSignIn('alice');
    fixture.publish('d1');
    fixture.publish('d1');
    fixture.withdraw('d1', 'alice');
    client.send(subscribe(1, 'doc', { docId: 'd1' }, fixture.issue('d1', 'alice', 60_000), '0'));
    expect(errorData(await client.next(isError(1))).data).toMatchObject({ lanyardReason: GrantReason.Refused });
    expect(dataIds(client, 1)).toEqual([]);
  });

  it('re-verifies every grant under the new session when the principal changes in band; a grant for the old user ends', async () => {
    const { fixture, rawSignIn } = await serve();
    const client = await rawSignIn('alice');
    client.send(subscribe(1, 'doc', { docId: 'd1' }, fixture.issue('d1', 'alice', 60_000)));
    await client.next(isType(1, 'started'));
    client.send(authenticateFrame(50, 'bob'));
    await client.next(forId(50));
    expect(errorData(await client.next(isError(1))).data).toMatchObject({ code: 'FORBIDDEN', lanyardReason: GrantReason.Refused });
    await client.next(isType(1, 'stopped'));
  });

  it('answers every lanyard.grant that answers no pending request with BAD_REQUEST, runs nothing, keeps the socket', async () => {
    const { fixture, rawSignIn } = await serve();
    const client = await rawSignIn('alice');
    client.send(subscribe(1, 'doc', { docId: 'd1' }, fixture.issue('d1', 'alice', 60_000)));
    client.send(subscribe(2, 'feed', { docId: 'd1' }));
    await client.next(isType(1, 'started'));
    await client.next(isType(2, 'started'));
    const token = fixture.issue('d1', 'alice', 60_000);
    client.send([grantFrame(10, 99, token, 1), grantFrame(11, 2, token, 1), grantFrame(12, 1, token, 1), grantFrame(13, 1, token, 0)]);
    for (const id of [10, 11, 12, 13]) expect(errorData(await client.next(isError(id))).data).toMatchObject({ code: 'BAD_REQUEST' });
    expect(fixture.verifications).toHaveLength(1); // the subscription's own
    fixture.publish('d1');
    await eventually(() => dataIds(client, 1).length === 1 && dataIds(client, 2).length === 1, 'both stream on');
  });

  it('answers malformed grant frames with PARSE_ERROR on their id and keeps the socket', async () => {
    const { rawSignIn } = await serve();
    const client = await rawSignIn('alice');
    client.send({ id: 1, method: 'lanyard.grant', params: { subscription: 1, token: 7, answers: 1 } });
    client.send({ id: 2, method: 'lanyard.grant', params: { subscription: null, token: 't', answers: 1 } });
    client.send({ id: 3, method: 'lanyard.grant', params: { subscription: 1, token: 't', answers: -1 } });
    client.send({ id: 4, method: 'lanyard.grant' });
    client.send({ id: 5, method: 'subscription', params: { path: 'doc', input: { docId: 'd1' }, grant: 42 } });
    client.send({ id: 6, method: 'query', params: { path: 'me', grant: 'on a query' } });
    for (const id of [1, 2, 3, 4, 5, 6]) expect(errorData(await client.next(isError(id))).data).toMatchObject({ code: 'PARSE_ERROR' });
    client.send({ id: 7, method: 'query', params: { path: 'me' } });
    await client.next(forId(7));
  });

  it('verifies one fresh token at a time per subscription: a second one sent meanwhile is refused', async () => {
    const { fixture, rawSignIn } = await serve({ refreshAheadMs: 1_000, verifyTimeoutMs: 300 });
    const client = await rawSignIn('alice');
    client.send(subscribe(1, 'doc', { docId: 'd1' }, fixture.issue('d1', 'alice', 1_500)));
    await client.next(isType(1, 'started'));
    const refresh = (await client.next(refreshFor(1), 3_000)) as RefreshFrame;
    fixture.hang();
    const token = fixture.issue('d1', 'alice', 60_000);
    client.send(grantFrame(10, 1, token, refresh.params.seq));
    client.send(grantFrame(11, 1, token, refresh.params.seq));
    expect(errorData(await client.next(isError(11))).data).toMatchObject({ code: 'BAD_REQUEST' });
    // verify hangs: answered TIMEOUT after verifyTimeoutMs; the subscription keeps its deadline and may be answered again
    expect(errorData(await client.next(isError(10))).data).toMatchObject({ code: 'TIMEOUT' });
    fixture.unhang();
    client.send(grantFrame(12, 1, token, refresh.params.seq));
    await client.next(isType(12, 'data'));
    expect(client.received.filter(isError(1))).toEqual([]);
  });

  it('answers a verify that fails without refusing with its error; the subscription keeps its grant and may be answered again', async () => {
    const { fixture, rawSignIn } = await serve();
    const client = await rawSignIn('alice');
    client.send(subscribe(1, 'doc', { docId: 'd1' }, fixture.issue('d1', 'alice', 1_500)));
    await client.next(isType(1, 'started'));
    const refresh = (await client.next(refreshFor(1), 3_000)) as RefreshFrame;
    fixture.failNext(1);
    const token = fixture.issue('d1', 'alice', 60_000);
    client.send(grantFrame(10, 1, token, refresh.params.seq));
    expect(errorData(await client.next(isError(10))).data).toMatchObject({ code: 'INTERNAL_SERVER_ERROR' });
    client.send(grantFrame(11, 1, token, refresh.params.seq));
    await client.next(isType(11, 'data'));
    fixture.publish('d1');
    await eventually(() => dataIds(client, 1).length === 1, 'streams on');
  });

  it('verifies at most five tokens per refresh request, however often a client answers it', async () => {
    const { fixture, rawSignIn } = await serve();
    const client = await rawSignIn('alice');
    client.send(subscribe(1, 'doc', { docId: 'd1' }, fixture.issue('d1', 'alice', 1_500)));
    await client.next(isType(1, 'started'));
    const refresh = (await client.next(refreshFor(1), 3_000)) as RefreshFrame;
    fixture.failNext(100);
    const token = fixture.issue('d1', 'alice', 60_000);
    const codes: string[] = [];
    for (let id = 10; id < 17; id++) {
      client.send(grantFrame(id, 1, token, refresh.params.seq));
      codes.push(errorData(await client.next(isError(id))).data.code);
    }
    expect(codes).toEqual([...Array<string>(5).fill('INTERNAL_SERVER_ERROR'), 'BAD_REQUEST', 'BAD_REQUEST']);
    expect(fixture.verifications).toHaveLength(1 + 5);
  });

  it('stops timing a grant whose subscription ended: no refresh request follows a stop or endSubscriptions', async () => {
    const { fixture, rawSignIn, handler } = await serve({ refreshAheadMs: 300 });
    const client = await rawSignIn('alice');
    client.send(subscribe(1, 'doc', { docId: 'd1' }, fixture.issue('d1', 'alice', 700)));
    client.send(subscribe(2, 'doc', { docId: 'd2' }, fixture.issue('d2', 'alice', 700)));
    await client.next(isType(1, 'started'));
    await client.next(isType(2, 'started'));
    client.send({ id: 1, method: 'subscription.stop' });
    handler.endSubscriptions(({ input }) => (input as { docId: string }).docId === 'd2', { code: 'FORBIDDEN', reason: 'gone' });
    await client.next(isType(1, 'stopped'));
    await client.next(isType(2, 'stopped'));
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(client.received.filter(method('lanyard.grant.refresh'))).toEqual([]);
    expect(client.received.filter(isError(1))).toEqual([]);
  });
});
