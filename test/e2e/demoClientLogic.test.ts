/**
 * The demo's pure client logic: the status label, the stop reason, the lifecycle log, the feed's
 * gap counting, and the document panel's grant provider and end reasons.
 */
import { TRPCClientError } from '@trpc/client';
import type { AnyTRPCRouter } from '@trpc/server';
import type { WsConnectionState } from 'trpc-lanyard/client';
import { TRPCWebSocketClosedError } from 'trpc-lanyard/client';
import { describe, expect, it } from 'vitest';
import type { FeedMessage } from '../../examples/demo/server/feed.js';
import { docEndingOf } from '../../examples/demo/web/docEnded.js';
import { DocGrants } from '../../examples/demo/web/docGrants.js';
import { emptyFeed, receive } from '../../examples/demo/web/feedState.js';
import type { LifecycleView } from '../../examples/demo/web/lifecycle.js';
import { lifecycleEvents } from '../../examples/demo/web/lifecycle.js';
import { connectionLabel, stopOf } from '../../examples/demo/web/status.js';

function closedBy(code: number, reason?: string): TRPCClientError<AnyTRPCRouter> {
  const cause = new TRPCWebSocketClosedError({ message: `WebSocket closed (${code})${reason ? `: ${reason}` : ''}`, code, reason });
  return new TRPCClientError(cause.message, { cause });
}

const state = (over: Partial<WsConnectionState>): WsConnectionState =>
  ({ type: 'state', state: 'pending', error: null, auth: 'authenticated', authError: null, ...over }) as WsConnectionState;

describe('connectionLabel', () => {
  it('names each stage of a socket’s life', () => {
    expect(connectionLabel(state({ state: 'connecting', auth: 'none' }), 0)).toBe('connecting');
    expect(connectionLabel(state({ state: 'connecting', auth: 'authenticating' }), 1)).toBe('authenticating');
    expect(connectionLabel(state({ auth: 'authenticated' }), 1)).toBe('open');
    expect(connectionLabel(state({ auth: 'refreshing' }), 1)).toBe('refreshing');
    expect(connectionLabel(state({ state: 'connecting', auth: 'none', error: closedBy(1006) }), 1)).toBe('reconnecting');
    expect(connectionLabel(state({ state: 'idle', auth: 'none' }), 1)).toBe('idle');
  });

  it('says stopped after a close the client does not retry', () => {
    expect(connectionLabel(state({ state: 'connecting', auth: 'none', error: closedBy(4410, 'gone') }), 1)).toBe('stopped');
  });

  it('says signed out once the token endpoint refused, unless a stop says more', () => {
    expect(connectionLabel(state({ state: 'connecting', auth: 'none', error: closedBy(4401) }), 2, true)).toBe('signed out');
    expect(connectionLabel(state({ state: 'idle', auth: 'none' }), 2, true)).toBe('signed out');
    expect(connectionLabel(state({ state: 'connecting', auth: 'none', error: closedBy(4410, 'gone') }), 2, true)).toBe('stopped');
  });
});

describe('lifecycleEvents', () => {
  const open: LifecycleView = { label: 'open', endMessage: null, socketsOpened: 1, refreshes: 2, tokenId: 'aaaa', tokenRole: 'admin', acceptedRole: 'admin' };

  it('calls an accepted refresh with the same role a routine rotation', () => {
    const next = { ...open, refreshes: 3, tokenId: 'bbbb' };
    expect(lifecycleEvents(open, next)).toEqual(['new access token bbbb (role admin)', 'routine token rotation in band (#3): same role, same socket']);
  });

  it('calls an accepted refresh that carries another role a re-authorisation, naming both roles', () => {
    const next = { ...open, refreshes: 3, tokenId: 'cccc', tokenRole: 'member', acceptedRole: 'member' };
    expect(lifecycleEvents(open, next)).toContain('role re-authorised in band (#3): admin → member, live subscriptions re-checked');
  });

  it('logs why the session ended with the label', () => {
    expect(lifecycleEvents(open, { ...open, label: 'signed out', endMessage: 'not signed in' })).toEqual(['signed out: not signed in']);
    expect(lifecycleEvents(open, { ...open, label: 'reconnecting' })).toEqual(['→ reconnecting']);
  });
});

describe('stopOf', () => {
  it('carries the close code and the server’s reason of a revocation', () => {
    expect(stopOf(state({ state: 'connecting', auth: 'none', error: closedBy(4410, 'revoked from the demo') }))).toMatchObject({
      code: 4410,
      reason: 'revoked from the demo',
    });
  });

  it('is null while the client still retries', () => {
    expect(stopOf(state({ state: 'connecting', auth: 'none', error: closedBy(4419) }))).toBeNull();
    expect(stopOf(state({}))).toBeNull();
  });
});

describe('receive', () => {
  const message = (id: number): FeedMessage => ({ id, room: 'public', author: 'a', text: `m${id}`, at: 0, kind: 'chat' });

  it('counts neither gaps nor duplicates for consecutive ids', () => {
    const feed = [1, 2, 3].map(message).reduce(receive, emptyFeed);
    expect(feed).toMatchObject({ missed: 0, duplicates: 0 });
    expect(feed.messages.map((m) => m.id)).toEqual([1, 2, 3]);
  });

  it('counts skipped ids as missed and a repeated id as a duplicate', () => {
    const feed = [1, 4, 4, 2].map(message).reduce(receive, emptyFeed);
    expect(feed).toMatchObject({ missed: 2, duplicates: 2 });
    expect(feed.messages.map((m) => m.id)).toEqual([1, 4]);
  });
});

describe('DocGrants', () => {
  /** An unsigned JWT-shaped token: the provider only decodes it for display. */
  const tokenWith = (claims: object) => `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;

  it('gives doc.watch the fetched token and shows its expiry, id and lifetime; other subscriptions need none', async () => {
    const token = tokenWith({ jti: 'abcdef123456', iat: 100, exp: 115 });
    const grants = new DocGrants(async () => ({ token, expiresAt: 115_000 }));
    let changes = 0;
    grants.subscribe(() => changes++);
    expect(await grants.provide({ path: 'publicRoom', input: {}, reason: 'subscribe' })).toBeUndefined();
    expect(await grants.provide({ path: 'doc.watch', input: { docId: 'roadmap' }, reason: 'expiring' })).toBe(token);
    expect(grants.view('roadmap')).toEqual({ expiresAt: 115_000, lifetimeMs: 15_000, tokenId: 'abcdef12', lastReason: 'expiring' });
    expect(changes).toBe(1);
  });

  it('gives the subscription up (null) when the server will not issue a grant', async () => {
    const grants = new DocGrants(async () => null);
    expect(await grants.provide({ path: 'doc.watch', input: { docId: 'roadmap' }, reason: 'resume' })).toBeNull();
    expect(grants.view('roadmap').expiresAt).toBeNull();
  });
});

describe('docEndingOf', () => {
  const errorWith = (data: object, message: string) => new TRPCClientError<AnyTRPCRouter>(message, { result: { error: { code: -32003, message, data } } });

  it('names a subscription the server ended on purpose, with its code and message', () => {
    const ending = docEndingOf(errorWith({ code: 'FORBIDDEN', lanyardReason: 'subscription-ended' }, 'your access was withdrawn'));
    expect(ending).toEqual({ reason: 'subscription-ended', code: 'FORBIDDEN', message: 'your access was withdrawn' });
  });

  it('names grant failures by their reason, and anything else "error"', () => {
    expect(docEndingOf(errorWith({ code: 'UNAUTHORIZED', lanyardReason: 'grant-expired' }, 'expired')).reason).toBe('grant-expired');
    expect(docEndingOf(errorWith({ code: 'FORBIDDEN', lanyardReason: 'grant-refused' }, 'no')).reason).toBe('grant-refused');
    expect(docEndingOf(new Error('the network')).reason).toBe('error');
    expect(docEndingOf(new Error('the network')).code).toBeNull();
  });
});
