/**
 * `npm start`'s demo app, driven in headless Chromium (Debian's package, through playwright-core):
 * sign in, post, watch tokens rotate in band on one socket, drop the connection, change role
 * and back, watch the document panel's own grant refresh in band and withdraw it, fit a phone's
 * screen, be revoked, and be signed out by a server restart. Tokens live 5 s here (20 s in the
 * demo) and document grants 3 s (15 s) so two refreshes take seconds.
 */
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWeb } from '../../examples/demo/build.js';
import type { DemoServer } from '../../examples/demo/server/app.js';
import { startDemoServer } from '../../examples/demo/server/app.js';
import { withdrawnReason } from '../../examples/demo/server/docGrant.js';
import { REVOKE_REASON } from '../../examples/demo/server/router.js';
import { chromiumFor, launchChromium } from './chromium.js';
import { DemoPage, isContiguous } from './demoPage.js';

const { path: chromiumPath, skip: withoutChromium } = chromiumFor('test/e2e/demo.test.ts');

const ARTIFACTS = join(process.cwd(), 'artifacts');
const poll = { timeout: 15_000, interval: 100 };
/** A phone's width, in CSS pixels. */
const PHONE_PX = 390;

describe.skipIf(withoutChromium)('the demo app in headless Chromium', () => {
  let server: DemoServer;
  let webDir: string;
  // A fixed key, so that after the restart the old access token still verifies and only the
  // user store (forgotten by the restart) says no.
  const startServer = (port: number) =>
    startDemoServer({
      port,
      host: '127.0.0.1',
      tokenTtlSeconds: 5,
      refreshAheadMs: 2_000,
      expiryGraceMs: 2_000,
      grantTtlSeconds: 3,
      grantRefreshAheadMs: 1_000,
      botIntervalMs: 500,
      staticDir: webDir,
      secret: new TextEncoder().encode('the e2e test key'),
    });
  let closeBrowser: (() => Promise<void>) | undefined;
  let page: Page;
  let demo: DemoPage;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    if (chromiumPath === null) throw new Error('CI=true but Chromium is missing: .ci/run installs Debian\'s chromium package');
    webDir = await mkdtemp(join(tmpdir(), 'lanyard-demo-web-'));
    await buildWeb(webDir);
    server = await startServer(0);
    const browser = await launchChromium(chromiumPath);
    closeBrowser = browser.close;
    page = await browser.context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    demo = new DemoPage(page);
    await page.goto(server.url);
  }, 60_000);

  afterAll(async () => {
    await closeBrowser?.();
    await server?.close();
    if (webDir) await rm(webDir, { recursive: true, force: true });
  });

  it('signs in over one authenticated socket, and a posted message arrives in the public room', async () => {
    await demo.signIn('Ada');
    await expect.poll(() => demo.text('status-label'), poll).toBe('open');
    // `me` is a query over the socket: it may still be in flight when the status reads 'open'.
    await expect.poll(() => demo.text('me-name'), poll).toBe('Ada');
    expect(await demo.text('me-role')).toBe('admin');
    expect(await demo.number('stat-sockets')).toBe(1);

    await demo.post('public', 'hello from Chromium');
    await expect.poll(() => demo.messages('public'), poll).toContain('hello from Chromium');
    await expect.poll(() => demo.text('sub-private'), poll).toBe('pending');
  }, 30_000);

  it('rotates the token in band at least twice while the socket count stays 1', async () => {
    const firstToken = await demo.text('token-id');
    await expect.poll(() => demo.number('stat-refreshes'), poll).toBeGreaterThanOrEqual(2);
    expect(await demo.number('stat-sockets')).toBe(1);
    expect(server.openSockets()).toBe(1);
    expect(await demo.text('token-id')).not.toBe(firstToken);
    expect(await demo.text('status-expires')).toMatch(/^\d+\.\d s$/);
    const log = await demo.text('lifecycle-log');
    expect(log).toContain('→ refreshing');
    expect(log).toContain('routine token rotation in band');
    expect(log).not.toContain('re-authorised');
  }, 30_000);

  it('streams the document under its own grant, refreshed in band at least twice on the same socket, with a countdown', async () => {
    await expect.poll(() => demo.text('sub-doc'), poll).toBe('pending');
    await expect.poll(async () => (await demo.messageIds('doc')).length, poll).toBeGreaterThan(0);
    await expect.poll(() => demo.text('doc-grant-expires'), poll).toMatch(/^\d+\.\d s$/);
    const firstGrant = await demo.text('doc-grant-id');
    const refreshes = await demo.number('doc-grant-refreshes');
    await expect.poll(() => demo.number('doc-grant-refreshes'), poll).toBeGreaterThanOrEqual(refreshes + 2);
    expect(await demo.text('doc-grant-id')).not.toBe(firstGrant);
    expect(await demo.text('doc-grant-expires')).toMatch(/^\d+\.\d s$/);
    // In band: the grants rotated on the one socket the page opened at sign-in.
    expect(await demo.number('stat-sockets')).toBe(1);
    expect(server.openSockets()).toBe(1);
    expect(await demo.text('status-label')).toMatch(/^(open|refreshing)$/);
    // Edits went on arriving across the refreshes, none missed or twice.
    const newest = Math.max(...(await demo.messageIds('doc')));
    await expect.poll(async () => Math.max(...(await demo.messageIds('doc'))), poll).toBeGreaterThan(newest);
    expect(isContiguous(await demo.messageIds('doc'))).toBe(true);
    expect(await demo.number('missed-doc')).toBe(0);
    expect(await demo.number('dupes-doc')).toBe(0);
  }, 30_000);

  it('"withdraw my access" ends only the document panel, with its typed reason, while the rooms go on', async () => {
    await demo.click('btn-doc-withdraw');
    await expect.poll(() => demo.text('doc-ended-reason'), poll).toBe('subscription-ended');
    expect(await demo.text('doc-ended-code')).toBe('FORBIDDEN');
    expect(await demo.text('doc-ended-message')).toBe(withdrawnReason('roadmap'));
    expect(await demo.text('sub-doc')).toBe('error');
    expect(await demo.text('doc-grant-expires')).toBe('—');
    const docIds = await demo.messageIds('doc');

    // The rooms keep streaming on the same socket; the document gets nothing more.
    for (const room of ['public', 'private'] as const) {
      const newest = Math.max(0, ...(await demo.messageIds(room)));
      await expect.poll(async () => Math.max(0, ...(await demo.messageIds(room))), poll).toBeGreaterThan(newest);
      expect(await demo.text(`sub-${room}`)).toBe('pending');
    }
    expect(await demo.messageIds('doc')).toEqual(docIds);
    expect(await demo.count('btn-doc-withdraw')).toBe(0);
    expect(await demo.number('stat-sockets')).toBe(1);
    expect(server.openSockets()).toBe(1);
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'demo-doc-withdrawn.png'), fullPage: true });
  }, 30_000);

  it('after "request access again" the document streams again under a fresh grant', async () => {
    const refreshes = await demo.number('doc-grant-refreshes');
    await demo.click('btn-doc-restore');
    await expect.poll(() => demo.count('doc-ended'), poll).toBe(0);
    await expect.poll(() => demo.text('sub-doc'), poll).toBe('pending');
    await expect.poll(async () => (await demo.messageIds('doc')).length, poll).toBeGreaterThan(0);
    await expect.poll(() => demo.text('doc-grant-expires'), poll).toMatch(/^\d+\.\d s$/);
    await expect.poll(() => demo.number('doc-grant-refreshes'), poll).toBeGreaterThan(refreshes);
    expect(await demo.number('stat-sockets')).toBe(1);
  }, 30_000);

  it('after a dropped connection reconnects once, and both rooms resume with no message missed or repeated', async () => {
    const before = await demo.messageIds('public');
    await demo.click('btn-drop');
    await expect.poll(() => demo.number('stat-sockets'), poll).toBe(2);
    await expect.poll(() => demo.text('status-label'), poll).toBe('open');
    // The server posted these right after cutting the socket, while the client was away.
    await expect.poll(() => demo.messages('public'), poll).toContain('posted while Ada was disconnected');
    await expect.poll(() => demo.messages('private'), poll).toContain('also posted while Ada was disconnected');

    for (const room of ['public', 'private'] as const) {
      const ids = await demo.messageIds(room);
      expect(isContiguous(ids), `${room} ids ${ids.join(',')}`).toBe(true);
      expect(await demo.number(`missed-${room}`)).toBe(0);
      expect(await demo.number(`dupes-${room}`)).toBe(0);
    }
    expect((await demo.messageIds('public')).slice(0, before.length)).toEqual(before);
    expect(await demo.text('lifecycle-log')).toContain('socket #2 opened');

    // The document resumed on the new socket too, with a grant fetched for it ('resume').
    const docNewest = Math.max(0, ...(await demo.messageIds('doc')));
    await expect.poll(async () => Math.max(0, ...(await demo.messageIds('doc'))), poll).toBeGreaterThan(docNewest);
    expect(await demo.text('sub-doc')).toBe('pending');
    expect(isContiguous(await demo.messageIds('doc'))).toBe(true);
    expect(await demo.number('missed-doc')).toBe(0);
    expect(await demo.number('dupes-doc')).toBe(0);
  }, 30_000);

  it('after a role change the private room ends with FORBIDDEN in the UI while the public room goes on', async () => {
    const refreshes = await demo.number('stat-refreshes');
    await demo.click('btn-role');
    await expect.poll(() => demo.text('error-private'), poll).toContain('FORBIDDEN');
    expect(await demo.text('error-private')).toContain('your role is now member');
    await expect.poll(() => demo.text('me-role'), poll).toBe('member');
    expect(await demo.number('stat-refreshes')).toBeGreaterThan(refreshes); // the new role came in band
    expect(await demo.number('stat-sockets')).toBe(2);
    await expect.poll(() => demo.text('lifecycle-log'), poll).toMatch(/role re-authorised in band \(#\d+\): admin → member/);

    await demo.post('public', 'still here as a member');
    await expect.poll(() => demo.messages('public'), poll).toContain('still here as a member');
    expect(await demo.text('sub-public')).toBe('pending');
    expect(isContiguous(await demo.messageIds('public'))).toBe(true);

    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'demo.png'), fullPage: true });
    if (process.env['UPDATE_DEMO_SCREENSHOT'] === '1') await copyFile(join(ARTIFACTS, 'demo.png'), join(process.cwd(), 'docs', 'demo.png'));
  }, 30_000);

  it('after switching back to admin the private room rejoins by itself, with no stale error', async () => {
    const privateIds = await demo.messageIds('private');
    await demo.click('btn-role'); // "Change role to admin"
    await expect.poll(() => demo.text('me-role'), poll).toBe('admin');
    await expect.poll(() => demo.count('error-private'), poll).toBe(0);
    await expect.poll(() => demo.text('sub-private'), poll).toBe('pending');
    // The bot posts to the private room every second here: new messages arrive again.
    const newest = Math.max(0, ...privateIds);
    await expect.poll(async () => Math.max(0, ...(await demo.messageIds('private'))), poll).toBeGreaterThan(newest);
    expect(await demo.text('room-private')).not.toContain('your role is now member');
    expect(await demo.text('lifecycle-log')).toMatch(/role re-authorised in band \(#\d+\): member → admin/);
    expect(await demo.number('stat-sockets')).toBe(2);
  }, 30_000);

  it(`fits a ${PHONE_PX} px wide phone screen without scrolling sideways`, async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    expect(await demo.widthAt(PHONE_PX, join(ARTIFACTS, 'demo-phone.png'))).toBeLessThanOrEqual(PHONE_PX);
    // 5 s tokens rotate in band every few seconds: 'refreshing' may show for a moment, then 'open'.
    await expect.poll(() => demo.text('status-label'), poll).toBe('open');
  }, 30_000);

  it('after revocation shows close code 4410 with its reason, says signed out, and stops retrying', async () => {
    await demo.click('btn-revoke');
    await expect.poll(() => demo.text('stopped-code'), poll).toBe('4410');
    expect(await demo.text('stopped-reason')).toBe(REVOKE_REASON);
    expect(await demo.text('status-label')).toBe('stopped');
    expect(await demo.text('me')).toContain('signed out');
    expect(await demo.text('me')).not.toContain('signed in as');

    await new Promise((resolve) => setTimeout(resolve, 2_000)); // longer than any reconnect delay here
    expect(await demo.text('status-label')).toBe('stopped');
    expect(await demo.number('stat-sockets')).toBe(2);
    expect(server.openSockets()).toBe(0);
    await page.screenshot({ path: join(ARTIFACTS, 'demo-revoked.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  }, 30_000);

  it(`fits the sign-in page on a ${PHONE_PX} px wide phone screen`, async () => {
    await demo.click('btn-sign-in-again');
    await page.getByTestId('signin-name').waitFor();
    expect(await demo.widthAt(PHONE_PX, join(ARTIFACTS, 'demo-sign-in-phone.png'))).toBeLessThanOrEqual(PHONE_PX);
  }, 30_000);

  it('after a server restart says signed out, sign in again, and stops reconnecting', async () => {
    await demo.signIn('Grace');
    await expect.poll(() => demo.text('status-label'), poll).toBe('open');
    await expect.poll(() => demo.text('me-name'), poll).toBe('Grace');

    // The restart forgets every user and refresh token: the cookie no longer yields tokens.
    const { port } = server;
    await server.close();
    server = await startServer(port);
    const restart = { timeout: 30_000, interval: 100 }; // the client's backoff decides when it comes back
    await expect.poll(() => demo.count('signed-out'), restart).toBe(1);
    expect(await demo.text('signed-out-reason')).toContain('not signed in');
    expect(await demo.text('status-label')).toBe('signed out');
    expect(await demo.text('me')).toContain('signed out');
    expect(await demo.text('lifecycle-log')).toContain('signed out:');

    const sockets = await demo.number('stat-sockets');
    await new Promise((resolve) => setTimeout(resolve, 3_000)); // longer than the next reconnect delay would be
    expect(await demo.number('stat-sockets')).toBe(sockets);
    expect(await demo.text('status-label')).toBe('signed out');
    expect(server.openSockets()).toBe(0);
    await page.screenshot({ path: join(ARTIFACTS, 'demo-signed-out.png'), fullPage: true });

    // Signing in again works against the restarted server.
    await demo.click('btn-sign-in-again');
    await demo.signIn('Grace');
    await expect.poll(() => demo.text('status-label'), poll).toBe('open');
    await expect.poll(() => demo.text('me-name'), poll).toBe('Grace');
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
