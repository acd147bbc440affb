// Search: a job id or block number, a block hash, an account, a content id.
import { getApi, bestHead, rawCall } from '../chain';
import { html, jobLink, blockLink } from '../ui';
import { decodeAddress } from '@polkadot/util-crypto';

/** Blocks searched for an extrinsic hash (there is no index of extrinsics). */
const EXTRINSIC_SCAN = 256;

export async function searchPage(el: HTMLElement, _p: string[], q: URLSearchParams) {
  const api = getApi();
  const text = (q.get('q') ?? '').trim();
  const hits: any[] = [];
  if (/^#?\d+$/.test(text)) {
    const n = Number(text.replace('#', ''));
    if (!text.startsWith('#') && (await api.query.market.jobs(n)).isSome) hits.push(html`<li>${jobLink(n)}</li>`);
    if (n <= (bestHead()?.number ?? 0)) hits.push(html`<li>block ${blockLink(n)}</li>`);
  } else if (/^0x[0-9a-fA-F]{64}$/.test(text)) {
    // The raw call: null for an unknown hash (the decorated one logs an error first).
    const h = await rawCall('chain_getHeader', [text]);
    if (h) {
      hits.push(html`<li>block ${blockLink(parseInt(h.number, 16))} <span class="mono small">${text}</span></li>`);
    } else {
      // Not a block hash: an extrinsic of the newest blocks? (No index: the last EXTRINSIC_SCAN.)
      const best = bestHead()?.number ?? 0;
      const from = Math.max(0, best - EXTRINSIC_SCAN + 1);
      const hashes = await Promise.all(Array.from({ length: best - from + 1 }, (_, k) => api.rpc.chain.getBlockHash(from + k)));
      const blocks = await Promise.all(hashes.map((h: any) => api.rpc.chain.getBlock(h)));
      blocks.forEach((b: any, k: number) =>
        b.block.extrinsics.forEach((x: any, i: number) => {
          if (x.hash.toHex() === text.toLowerCase()) hits.push(html`<li>extrinsic ${blockLink(from + k, i)} (${x.method.section}.${x.method.method})</li>`);
        }),
      );
    }
    try {
      decodeAddress(text);
      hits.push(html`<li><a href="/account/${text}" data-link>account ${text.slice(0, 12)}…</a></li>`);
    } catch {
      /* not an account */
    }
  } else if (/^[0-9a-f]{64}:\d+$/.test(text)) {
    hits.push(html`<li><a href="/content/${text}" data-link>content ${text.slice(0, 16)}…</a></li>`);
  } else {
    try {
      decodeAddress(text);
      hits.push(html`<li><a href="/account/${text}" data-link>account ${text}</a></li>`);
      if ((await api.query.providers.providers(text)).isSome) hits.push(html`<li><a href="/provider/${text}" data-link>provider ${text}</a></li>`);
    } catch {
      /* not an address */
    }
  }
  el.innerHTML = html`<h1>Search: ${text}</h1>${hits.length ? html`<ul class="plain" id="hits">${hits}</ul>` : html`<p class="notice error" id="no-hits">Nothing on this chain matches '${text}'. Search for a job id (a number), a block (#number or 0x hash), an extrinsic (0x hash, among the newest ${EXTRINSIC_SCAN} blocks), an account (SS58 address) or a content id (&lt;64 hex&gt;:&lt;size&gt;).</p>`}`.s;
}
