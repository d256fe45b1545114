import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { CHROMIUM } from '../../../scripts/lib/chromium.mjs';

/** Flags without which Chromium waits on the (closed) network or on a GPU this machine does not have. */
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface Browser {
  context: BrowserContext;
  /** Every URL a page of this browser asked for. */
  requested: string[];
  /** Every error a page logged to its console (a CSP violation is one). */
  consoleErrors: string[];
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

/** Debian's Chromium, headless, a fresh profile, a laptop-sized window; every request recorded. */
export async function launchChromium(): Promise<Browser> {
  const profile = mkdtempSync(path.join(tmpdir(), 'console-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1366, height: 768 },
  });
  const requested: string[] = [];
  const consoleErrors: string[] = [];
  context.on('request', (request) => requested.push(request.url()));
  context.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  return {
    context,
    requested,
    consoleErrors,
    newPage: () => context.newPage(),
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** The origins of `urls` that are not this machine (data: and blob: URLs stay in the page). */
export function remoteOrigins(urls: string[]): string[] {
  const remote = urls
    .filter((u) => /^https?:/.test(u))
    .map((u) => new URL(u))
    .filter((u) => !['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname))
    .map((u) => u.origin);
  return [...new Set(remote)];
}
