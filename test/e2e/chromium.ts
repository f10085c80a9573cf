import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { chromium } from 'playwright-core';

/**
 * Debian's Chromium for the test file `file`, or null when it is missing; then it says so loudly
 * (the file's browser tests skip locally; under CI=true they must fail instead, and `skip` is false).
 * Returns whether the browser tests should be skipped.
 */
export function chromiumFor(file: string): { path: string | null; skip: boolean } {
  const path = findChromium();
  const inCI = process.env['CI'] === 'true';
  if (path === null && !inCI) {
    console.warn(
      [
        '',
        '!'.repeat(78),
        `!! SKIPPED: ${file} — no Chromium found (/usr/bin/chromium, or set CHROMIUM_PATH).`,
        '!! Install it with: apt-get install -y chromium   (CI does; there this test fails instead)',
        '!'.repeat(78),
        '',
      ].join('\n'),
    );
  }
  return { path, skip: path === null && !inCI };
}

/** Debian's Chromium (`apt-get install chromium`); CHROMIUM_PATH overrides. Nothing is downloaded. */
export function findChromium(): string | null {
  const candidates = [process.env['CHROMIUM_PATH'], '/usr/bin/chromium', '/usr/bin/chromium-browser'];
  return candidates.find((path): path is string => path !== undefined && path !== '' && existsSync(path)) ?? null;
}

/**
 * The flags this machine needs: no sandbox (we run as root), no GPU, and none of Chromium's
 * own network traffic (the network is closed; without these it retries, many at a time).
 */
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Headless Chromium with a fresh, empty profile; `close()` removes the profile too. */
export async function launchChromium(executablePath: string): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const userDataDir = await mkdtemp(join(tmpdir(), 'lanyard-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: ARGS,
    viewport: { width: 1280, height: 900 },
  });
  return {
    context,
    async close() {
      await context.close();
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}
