/** The `cookies` that reach `authenticate`: parsed by the `cookie` package, over real sockets. */
import { describe, expect, it } from 'vitest';
import type { AuthenticateOptions } from '../../src/server/index.js';
import { parseCookies } from '../../src/server/auth/credentials.js';
import type { TestSession } from '../fixtures/authRouter.js';
import { createAuthFixture } from '../fixtures/authRouter.js';
import { meFrame } from '../fixtures/authSteps.js';
import { forId, openRaw } from '../fixtures/rawClient.js';
import { useRawServer } from '../fixtures/rawHarness.js';

const raw = useRawServer();

/**
 * Serves the auth fixture with `credentials.cookies` as given, and returns the `cookies` each
 * connection's `authenticate` saw; the `session` cookie is the token (`carol:member` without one).
 */
async function serveRecordingCookies(cookiesOn: boolean) {
  const fixture = createAuthFixture();
  const seen: Array<Readonly<Record<string, string>>> = [];
  const authenticate = (opts: AuthenticateOptions<TestSession, unknown>) => {
    seen.push(opts.cookies);
    return fixture.authenticate({ ...opts, connectionParams: { token: opts.cookies['session'] ?? 'carol:member' } });
  };
  await raw.start<typeof fixture.router, TestSession>({
    router: fixture.router,
    authenticate,
    createContext: fixture.createContext,
    credentials: { cookies: cookiesOn },
    allowedOrigins: ['https://app.example'],
  });
  return seen;
}

/** Opens a socket whose upgrade request carries `cookie`, asks `me` and returns the answer's data. */
async function meWithCookie(url: string, cookie: string | undefined): Promise<unknown> {
  const client = await openRaw(url, cookie === undefined ? undefined : { cookie });
  try {
    client.send(meFrame(1));
    return ((await client.next(forId(1))) as { result?: { data?: unknown } }).result?.data;
  } finally {
    client.close();
  }
}

describe('cookies on the upgrade request', () => {
  it('gives authenticate cookies named like Object.prototype members, and no inherited names when none was sent', async () => {
    const seen = await serveRecordingCookies(true);
    await meWithCookie(raw.server.url, 'constructor=c1; toString=t1; __proto__=p1; session=dave%3Aadmin');
    await meWithCookie(raw.server.url, undefined);
    expect(seen).toHaveLength(2);
    const [sent, none] = seen;
    expect({ ...sent }).toEqual({ constructor: 'c1', toString: 't1', ['__proto__']: 'p1', session: 'dave:admin' });
    expect(Object.getOwnPropertyNames(sent)).toContain('__proto__');
    expect(none?.['toString']).toBeUndefined();
    expect(none?.['constructor']).toBeUndefined();
  });

  it('has no inherited names either when credentials.cookies is off', async () => {
    const seen = await serveRecordingCookies(false);
    await meWithCookie(raw.server.url, 'session=dave%3Aadmin');
    expect(seen).toHaveLength(1);
    expect({ ...seen[0] }).toEqual({});
    expect(seen[0]?.['hasOwnProperty']).toBeUndefined();
  });

  it('takes the first of duplicate cookies (the browser sends the most specific path first)', async () => {
    await serveRecordingCookies(true);
    expect(await meWithCookie(raw.server.url, 'session=dave:admin; session=eve:member')).toMatchObject({ user: 'dave', role: 'admin' });
  });

  it('finds the session cookie at the end of a 15 KiB header of 600 cookies', async () => {
    const seen = await serveRecordingCookies(true);
    const filler = Array.from({ length: 600 }, (_, i) => `pref_${i}=${'x'.repeat(16)}`).join('; ');
    const header = `${filler}; session=frank:admin`;
    expect(header.length).toBeGreaterThan(15_000); // Node refuses headers over 16 KiB by default
    expect(await meWithCookie(raw.server.url, header)).toMatchObject({ user: 'frank', role: 'admin' });
    expect(Object.keys(seen[0] ?? {})).toHaveLength(601);
  });
});

describe('parseCookies', () => {
  it.each([
    ['a quoted value loses its quotes', 'session="abc def"', { session: 'abc def' }],
    ['a lone quote stays', 'a="; b=x"', { a: '"', b: 'x"' }],
    ['URI-encoded values are decoded', 'name=J%C3%BCrgen%20K', { name: 'Jürgen K' }],
    ['an invalid escape is kept as sent', 'bad=%E0%A4%A; ok=1', { bad: '%E0%A4%A', ok: '1' }],
    ['`=` inside a value is part of it', 'jwt=a.b.c==; q=x=y', { jwt: 'a.b.c==', q: 'x=y' }],
    ['pairs without `=` or without a name are skipped', 'flag; =orphan; ; ;; ok=1', { ok: '1' }],
    ['an empty value is kept', 'empty=; full=1', { empty: '', full: '1' }],
    ['spaces and tabs around names and values are trimmed', ' \ta = 1 \t;\tb=2', { a: '1', b: '2' }],
    ['the first of duplicates wins', 'id=1; id=2; ID=3', { id: '1', ID: '3' }],
    ['an empty header gives nothing', '', {}],
  ])('%s', (_what, header, expected) => {
    expect({ ...parseCookies(header) }).toEqual(expected);
  });

  it('joins several Cookie headers', () => {
    expect({ ...parseCookies(['a=1; b=2', 'b=3; c=4']) }).toEqual({ a: '1', b: '2', c: '4' });
  });

  it('parses a header of 10,000 cookies in one linear pass', () => {
    const header = Array.from({ length: 10_000 }, (_, i) => `c${i}=${i}`).join('; ');
    const cookies = parseCookies(header);
    expect(Object.keys(cookies)).toHaveLength(10_000);
    expect(cookies['c9999']).toBe('9999');
  });
});
