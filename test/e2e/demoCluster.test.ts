/**
 * `npm run start:cluster` driven in headless Chromium: the launcher's two nodes on one Redis (free
 * ports, a key prefix of this run's own), sign in on node A, press "kill this node" (A exits with
 * SIGKILL), and the page's socket moves to node B while both rooms keep counting with nothing
 * missed and nothing twice. Tokens live 6 s here, so B also rotates tokens A issued.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findRedis, freePort, uniquePrefix } from '../fixtures/redis.js';
import { chromiumFor, launchChromium } from './chromium.js';
import { DemoPage, isContiguous } from './demoPage.js';

const { path: chromiumPath, skip: withoutChromium } = chromiumFor('test/e2e/demoCluster.test.ts');
// Loud when missing (and throws under CI=true): see test/fixtures/redis.ts.
const redis = await findRedis();

const ARTIFACTS = join(process.cwd(), 'artifacts');
const poll = { timeout: 30_000, interval: 100 };
const ROOMS = ['public', 'private'] as const;
/** The rooms and the document: each a tracked subscription that resumes on the other node (the document with a grant fetched there). */
const FEEDS = [...ROOMS, 'doc'] as const;

describe.skipIf(redis === null || withoutChromium)('the cluster demo (npm run start:cluster) in headless Chromium', () => {
  let launcher: ChildProcess | undefined;
  let output = '';
  let webDir: string | undefined;
  let closeBrowser: (() => Promise<void>) | undefined;
  let page: Page;
  let demo: DemoPage;
  let portA = 0;
  const pageErrors: string[] = [];

  /** Waits for the launcher (or a node) to print `pattern`. */
  const waitForOutput = async (pattern: RegExp, what: string, timeoutMs = 120_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(output)) {
      if (Date.now() > deadline || launcher?.exitCode != null) throw new Error(`no ${what}; launcher output:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };

  beforeAll(async () => {
    if (chromiumPath === null) throw new Error("CI=true but Chromium is missing: .ci/run installs Debian's chromium package");
    if (redis === null) throw new Error('unreachable: skipped without Redis');
    webDir = await mkdtemp(join(tmpdir(), 'lanyard-cluster-web-'));
    portA = await freePort();
    const portB = await freePort();
    // Its own process group: afterAll kills the launcher and both nodes with one signal, whatever happened.
    launcher = spawn(process.execPath, ['--import', 'tsx', '--conditions=@trpc-lanyard/source', 'examples/demo/cluster.ts'], {
      cwd: process.cwd(),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        CLUSTER_PORTS: `${portA},${portB}`,
        HOST: '127.0.0.1',
        REDIS_URL: redis.url,
        DEMO_REDIS_PREFIX: uniquePrefix('cluster-demo'),
        DEMO_WEB_DIR: webDir,
        DEMO_RESTART_DELAY_MS: '1000',
        DEMO_TOKEN_TTL_S: '6',
        DEMO_REFRESH_AHEAD_MS: '2000',
        DEMO_BOT_INTERVAL_MS: '300',
      },
    });
    launcher.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    launcher.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitForOutput(/\[node A\] http:\/\/localhost:\d+/, 'node A up');
    await waitForOutput(/\[node B\] http:\/\/localhost:\d+/, 'node B up');

    const browser = await launchChromium(chromiumPath);
    closeBrowser = browser.close;
    page = await browser.context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    demo = new DemoPage(page);
    await page.goto(`http://localhost:${portA}`);
  }, 180_000);

  afterAll(async () => {
    await closeBrowser?.().catch(() => undefined);
    if (launcher?.pid !== undefined) {
      try {
        process.kill(-launcher.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (webDir) await rm(webDir, { recursive: true, force: true });
  });

  it('signs in on node A, and both rooms and the document count from there', async () => {
    await demo.signIn('Ada');
    await expect.poll(() => demo.text('status-label'), poll).toBe('open');
    await expect.poll(() => demo.text('me-node'), poll).toBe('A');
    for (const room of FEEDS) await expect.poll(async () => (await demo.messageIds(room)).length, poll).toBeGreaterThanOrEqual(3);
  }, 60_000);

  it('after "kill this node" serves the socket from node B, and both rooms and the document go on with nothing missed or twice', async () => {
    const before = { public: await demo.messageIds('public'), private: await demo.messageIds('private'), doc: await demo.messageIds('doc') };
    await demo.click('btn-kill-node');
    await waitForOutput(/node A exited \(SIGKILL\)/, 'node A killed', 30_000);
    await expect.poll(() => demo.text('me-node'), poll).toBe('B');
    await expect.poll(() => demo.text('status-label'), poll).toBe('open');
    expect(await demo.number('stat-sockets')).toBeGreaterThanOrEqual(2);

    for (const room of FEEDS) {
      const newest = Math.max(...before[room]);
      // Events published by both nodes while the client moved, then live ones from B.
      await expect.poll(async () => Math.max(...(await demo.messageIds(room))), poll).toBeGreaterThan(newest + 5);
      const ids = await demo.messageIds(room);
      expect(isContiguous(ids), `${room} ids ${ids.join(',')}`).toBe(true);
      expect(ids.slice(0, before[room].length)).toEqual(before[room]);
      expect(await demo.number(`missed-${room}`)).toBe(0);
      expect(await demo.number(`dupes-${room}`)).toBe(0);
      expect(await demo.text(`sub-${room}`)).toBe('pending');
    }

    await demo.post('public', 'hello from node B');
    await expect.poll(() => demo.messages('public'), poll).toContain('hello from node B');
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'demo-cluster.png'), fullPage: true });
  }, 90_000);

  it('rotates tokens in band on node B (a token endpoint of a live node), and the launcher restarts node A', async () => {
    const refreshes = await demo.number('stat-refreshes');
    const sockets = await demo.number('stat-sockets');
    await expect.poll(() => demo.number('stat-refreshes'), poll).toBeGreaterThan(refreshes);
    expect(await demo.number('stat-sockets')).toBe(sockets);
    await waitForOutput(/node A exited[\s\S]*\[node A\] http:\/\/localhost:\d+/, 'node A restarted', 60_000);
    for (const room of ROOMS) {
      expect(isContiguous(await demo.messageIds(room))).toBe(true);
      expect(await demo.number(`missed-${room}`)).toBe(0);
      expect(await demo.number(`dupes-${room}`)).toBe(0);
    }
    expect(pageErrors).toEqual([]);
  }, 90_000);
});

describe('npm run start:cluster without Redis', () => {
  it('says in one line how to start Redis, starts no node, and exits with 1', async () => {
    const closedPort = await freePort(); // nothing listens there
    const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@trpc-lanyard/source', 'examples/demo/cluster.ts'], {
      cwd: process.cwd(),
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, REDIS_URL: `redis://127.0.0.1:${closedPort}`, CLUSTER_PORTS: `${await freePort()},${await freePort()}` },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toEqual([
      `trpc-lanyard cluster demo: no Redis answers at redis://127.0.0.1:${closedPort}. Start one with \`redis-server\` (or \`docker run --rm -p 6379:6379 redis\`), or set REDIS_URL.`,
    ]);
  }, 60_000);
});
