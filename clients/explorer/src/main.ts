// The explorer's shell: the connection state in the header, a router over shareable paths, the
// search box. Pages render into <main> and may subscribe to new heads; a page whose node is not
// reachable says so (never a blank screen or an endless spinner) and renders again on reconnect.
import './style.css';
import { start, onConn, conn, Conn } from './chain';
import { html, Html } from './ui';
import { networkPage, blocksPage } from './pages/network';
import { jobPage, jobsPage } from './pages/job';
import { taskPage } from './pages/task';
import { providerPage, providersPage } from './pages/provider';
import { accountPage } from './pages/account';
import { blockPage } from './pages/block';
import { contentPage } from './pages/content';
import { searchPage } from './pages/search';

export type Cleanup = () => void;
export type Page = (el: HTMLElement, params: string[], query: URLSearchParams) => Promise<Cleanup | void>;

const routes: [RegExp, Page][] = [
  [/^\/$/, networkPage],
  [/^\/blocks$/, blocksPage],
  [/^\/block\/([^/]+)$/, blockPage],
  [/^\/jobs$/, jobsPage],
  [/^\/job\/([^/]+)$/, jobPage],
  [/^\/job\/([^/]+)\/task\/([^/]+)$/, taskPage],
  [/^\/providers$/, providersPage],
  [/^\/provider\/([^/]+)$/, providerPage],
  [/^\/account\/([^/]+)$/, accountPage],
  [/^\/content\/([^/]+)$/, contentPage],
  [/^\/search$/, searchPage],
];

const app = document.getElementById('app')!;
const connEl = document.getElementById('conn')!;
const banner = document.getElementById('banner')!;
let cleanup: Cleanup | void;
let generation = 0;

export function setHtml(el: HTMLElement, h: Html) {
  el.innerHTML = h.s;
}

async function render() {
  const my = ++generation;
  if (cleanup) cleanup();
  cleanup = undefined;
  app.dataset.ready = '';
  const c = conn();
  if (c.kind !== 'connected') {
    setHtml(app, html`<section class="notice ${c.kind}" data-conn="${c.kind}"><h2>${c.kind === 'wrong-chain' ? 'Not a Gravity node' : c.kind === 'lost' ? 'Connection lost' : 'Connecting'}</h2><p>${c.message}</p></section>`);
    return;
  }
  const path = location.pathname.replace(/\/+$/, '') || '/';
  const query = new URLSearchParams(location.search);
  const found = routes.map(([re, page]) => [re.exec(path), page] as const).find(([m]) => m);
  if (!found) {
    setHtml(app, html`<section class="notice error"><h2>No such page</h2><p>${path} is not a page of this explorer. Search for a job id, block, account or content id above.</p></section>`);
    app.dataset.ready = '1';
    return;
  }
  const [m, page] = found;
  setHtml(app, html`<p class="muted loading">loading ${path}…</p>`);
  const t0 = performance.now();
  try {
    const c2 = await page(app, m!.slice(1).map(decodeURIComponent), query);
    if (my !== generation) {
      if (c2) c2();
      return;
    }
    cleanup = c2;
    // `/block/<n>#x<i>`: the extrinsic named in the link.
    if (location.hash) document.getElementById(location.hash.slice(1))?.scrollIntoView();
    app.dataset.ready = '1';
    app.dataset.renderMs = String(Math.round(performance.now() - t0));
  } catch (e: any) {
    if (my !== generation) return;
    setHtml(app, html`<section class="notice error"><h2>Cannot show ${path}</h2><p>${e?.message ?? String(e)}</p></section>`);
    app.dataset.ready = '1';
  }
}

export function go(path: string) {
  history.pushState(null, '', path);
  void render();
}

document.addEventListener('click', (e) => {
  const a = (e.target as HTMLElement).closest('a[data-link]') as HTMLAnchorElement | null;
  if (!a || e.ctrlKey || e.metaKey || e.shiftKey || a.target) return;
  e.preventDefault();
  go(a.getAttribute('href')!);
});
window.addEventListener('popstate', () => void render());

document.getElementById('search')!.addEventListener('submit', (e) => {
  e.preventDefault();
  const q = (document.getElementById('q') as HTMLInputElement).value.trim();
  if (q) go(`/search?q=${encodeURIComponent(q)}`);
});

let last: Conn['kind'] | null = null;
onConn((c) => {
  connEl.className = `conn ${c.kind}`;
  connEl.textContent = c.kind === 'connected' ? `● ${c.message}` : c.kind === 'lost' ? '● disconnected' : c.kind === 'wrong-chain' ? '● wrong chain' : '● connecting';
  connEl.title = c.message;
  banner.hidden = c.kind === 'connected';
  banner.className = `banner ${c.kind}`;
  banner.textContent = c.message;
  // A lost connection keeps the page as it was (with the banner); anything else re-renders.
  // (While connecting, the notice is redrawn with each new message: retrying, unreachable.)
  if ((c.kind !== last || c.kind === 'connecting') && !(c.kind === 'lost' && last === 'connected')) void render();
  last = c.kind;
});

void render();
void start();
