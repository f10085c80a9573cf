/**
 * SSE under `createHttpAuth` in headless Chromium (Debian's package, through playwright-core):
 * stock `httpSubscriptionLink` on the browser's native EventSource, which cannot send headers, so
 * the credentials travel in an HttpOnly cookie (`credentials: { cookies: true }`, `allowedOrigins`
 * the page's origin) and the page asks `/refresh` for a fresh one before each stream opens; the
 * retryLink recipe reopens a stream that ends typed. A minute on 5 s tokens (events every 100 ms),
 * then a revoke that ends the stream for good.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StreamEndReason } from '../../src/protocol/index.js';
import { chromiumFor, launchChromium } from './chromium.js';
import type { SsePageReport } from './sse-page/report.js';
import type { SsePageServer } from './ssePageServer.js';
import { ACCESS_COOKIE, buildSsePage, startSsePageServer } from './ssePageServer.js';

const { path: chromiumPath, skip: withoutChromium } = chromiumFor('test/e2e/sseBrowser.test.ts');

const TOKEN_LIFETIME_MS = 5_000;
const REFRESH_AHEAD_MS = 1_000;
const PUBLISH_EVERY_MS = 100;
const poll = { timeout: 15_000, interval: 100 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(withoutChromium)('stock httpSubscriptionLink in headless Chromium, credentials in an HttpOnly cookie', () => {
  let webDir: string;
  let server: SsePageServer;
  let context: BrowserContext;
  let closeBrowser: (() => Promise<void>) | undefined;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    if (chromiumPath === null) throw new Error("CI=true but Chromium is missing: .ci/run installs Debian's chromium package");
    webDir = await mkdtemp(join(tmpdir(), 'lanyard-sse-page-'));
    await buildSsePage(webDir);
    server = await startSsePageServer({ webDir, tokenLifetimeMs: TOKEN_LIFETIME_MS, refreshAheadMs: REFRESH_AHEAD_MS });
    const browser = await launchChromium(chromiumPath);
    context = browser.context;
    closeBrowser = browser.close;
  }, 60_000);

  afterAll(async () => {
    await closeBrowser?.();
    await server?.close();
    if (webDir) await rm(webDir, { recursive: true, force: true });
  });

  async function openPage(user: string, query = ''): Promise<Page> {
    const page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${server.url}/?user=${user}${query}`);
    return page;
  }

  const reportOf = (page: Page) => page.evaluate(() => (window as unknown as { sseReport: SsePageReport }).sseReport);
  const startsOf = (user: string) => server.starts.filter((start) => start.user === user);
  /** The access token each request to the stream carried. */
  const streamCookies = () =>
    server.requests.filter((request) => request.url.startsWith('/trpc/feed')).map((request) => /sse_access=([^;]+)/.exec(request.cookie ?? '')?.[1]);

  it(
    'streams a minute on 5 s cookies: every event exactly once, no token in any URL, each stream reopened with a fresh cookie before its token expires',
    async () => {
      const streamingMs = 60_000;
      const page = await openPage('ada');
      await expect.poll(() => server.running(), poll).toBe(1);

      const published: number[] = [];
      const until = Date.now() + streamingMs;
      while (Date.now() < until) {
        published.push(server.publish());
        await sleep(PUBLISH_EVERY_MS);
      }
      await expect.poll(async () => (await reportOf(page)).events.length, poll).toBeGreaterThanOrEqual(published.length);
      await sleep(200);
      const report = await reportOf(page);
      // The page's HttpOnly cookie is out of its scripts' reach.
      expect(await page.evaluate(() => document.cookie)).toBe('');
      await page.close();

      // Every event exactly once, in order; nothing ended the subscription.
      expect(report.events).toEqual(published);
      expect(report.errors).toEqual([]);
      expect(pageErrors).toEqual([]);

      // Streams of ~4 s (ended 1 s ahead of a 5 s token), each opened after a refresh with its own cookie.
      const starts = startsOf('ada');
      expect(starts.length).toBeGreaterThanOrEqual(streamingMs / (TOKEN_LIFETIME_MS - REFRESH_AHEAD_MS) - 1);
      expect(report.opens).toBe(starts.length);
      expect(report.refreshes).toBe(starts.length);
      const cookies = streamCookies();
      expect(cookies).toHaveLength(starts.length);
      expect(new Set(cookies).size).toBe(starts.length);
      expect(cookies.every((cookie) => cookie !== undefined && server.issued.includes(cookie))).toBe(true);
      for (const [i, start] of starts.entries()) {
        expect(start.startedAt - start.session.issuedAt).toBeLessThan(1_000);
        if (i === 0) continue;
        const previous = starts[i - 1]!;
        expect(start.lastEventId).toMatch(/^\d+$/);
        // Reopened once the previous stream ended at its refresh point, before its token expired.
        expect(start.startedAt).toBeGreaterThanOrEqual(previous.session.expiresAt - REFRESH_AHEAD_MS - 5);
        expect(start.startedAt).toBeLessThan(previous.session.expiresAt);
      }

      // No token in any URL the server saw (page, assets, login, refresh, streams).
      expect(server.issued.length).toBeGreaterThanOrEqual(starts.length);
      for (const { url } of server.requests) {
        expect(url).not.toMatch(/ada\.\d/);
        for (const token of server.issued) expect(url).not.toContain(token);
      }
    },
    120_000,
  );

  it('revoke ends the page\'s stream with revoked (FORBIDDEN) and the page does not reopen it', async () => {
    const page = await openPage('grace');
    await expect.poll(() => startsOf('grace').length, poll).toBe(1);
    const seq = server.publish();
    await expect.poll(async () => (await reportOf(page)).events.at(-1), poll).toBe(seq);

    expect(server.auth.revoke((session) => session.user === 'grace', { reason: 'signed out everywhere' })).toBe(1);
    await expect.poll(async () => (await reportOf(page)).errors.length, poll).toBe(1);
    const requestsAtRevoke = server.requests.length;
    const [error] = (await reportOf(page)).errors;
    expect(error?.reason).toBe(StreamEndReason.Revoked);
    expect(error?.code).toBe('FORBIDDEN');
    expect(error?.message).toContain('signed out everywhere');

    // Longer than EventSource's own reconnection delay (3 s in Chromium): nothing reopens it.
    server.publish();
    await sleep(4_000);
    const report = await reportOf(page);
    await page.close();
    expect(startsOf('grace')).toHaveLength(1);
    expect(report.opens).toBe(1);
    expect(server.requests.slice(requestsAtRevoke)).toEqual([]);
    expect(pageErrors).toEqual([]);
  }, 30_000);

  it('without the retryLink recipe, the stream ends with session-expired (UNAUTHORIZED) at its refresh point and is not reopened', async () => {
    const page = await openPage('lin', '&retry=off');
    await expect.poll(() => startsOf('lin').length, poll).toBe(1);
    const [start] = startsOf('lin');
    await expect.poll(async () => (await reportOf(page)).errors.length, poll).toBe(1);
    const endedAt = Date.now();
    const [error] = (await reportOf(page)).errors;
    expect(error?.reason).toBe(StreamEndReason.SessionExpired);
    expect(error?.code).toBe('UNAUTHORIZED');
    expect(endedAt).toBeGreaterThanOrEqual(start!.session.expiresAt - REFRESH_AHEAD_MS);
    expect(endedAt).toBeLessThan(start!.session.expiresAt);
    const requestsAtEnd = server.requests.length;

    server.publish();
    await sleep(4_000);
    const report = await reportOf(page);
    await page.close();
    expect(startsOf('lin')).toHaveLength(1);
    expect(report.opens).toBe(1);
    expect(server.requests.slice(requestsAtEnd)).toEqual([]);
    expect(pageErrors).toEqual([]);
  }, 30_000);

  it('refuses a request that carries the cookie from another origin (403)', async () => {
    const response = await fetch(`${server.url}/trpc/me`, {
      headers: { origin: 'http://elsewhere.example', cookie: `${ACCESS_COOKIE}=ada.${Date.now()}.${Date.now() + 60_000}` },
    });
    expect(response.status).toBe(403);
    const ok = await fetch(`${server.url}/trpc/me`, {
      headers: { origin: server.url, cookie: `${ACCESS_COOKIE}=ada.${Date.now()}.${Date.now() + 60_000}` },
    });
    expect(ok.status).toBe(200);
  });
});
