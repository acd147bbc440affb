// The explorer in a real browser for tests: scripts/explorer.sh started on a free port, Debian's
// chromium driven by playwright-core (never a downloaded browser), pages that record console
// errors, screenshots in $GRAVITY_SCREENSHOTS (a temp folder by default).
import { after } from 'node:test';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const root = path.resolve(import.meta.dirname, '..', '..', '..');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const shots = process.env.GRAVITY_SCREENSHOTS || mkdtempSync(path.join(os.tmpdir(), 'gravity-explorer-screens-'));
mkdirSync(shots, { recursive: true });

let browser;
const servers = [];
after(async () => {
  await browser?.close();
  for (const s of servers) s.kill('SIGKILL');
});

/** Start scripts/explorer.sh with `args` on a free port; resolves with its URL. */
export function explorer(args) {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [path.join(root, 'scripts/explorer.sh'), '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    servers.push(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /explorer: (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => reject(new Error(`explorer exited ${code}: ${err}`)));
  });
}

/** A new page; `page.errors` collects console errors and uncaught exceptions. */
export async function newPage() {
  browser ??= await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.errors = [];
  page.on('console', (m) => { if (m.type() === 'error') page.errors.push(m.text()); });
  page.on('pageerror', (e) => page.errors.push(String(e)));
  return page;
}

/** Wait until the app has drawn its page (or its message). */
export const ready = (page, timeout = 30_000) => page.waitForSelector('#app[data-ready="1"]', { timeout });

/** Save a full-page screenshot as `<name>.png` in `shots`. */
export const shot = (page, name) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });

/** Navigate inside the app (no reload), wait for the page; resolves with its render time (ms). */
export async function visit(page, p) {
  await page.evaluate((to) => { history.pushState(null, '', to); dispatchEvent(new PopStateEvent('popstate')); }, p);
  await ready(page);
  return Number(await page.getAttribute('#app', 'data-render-ms'));
}
