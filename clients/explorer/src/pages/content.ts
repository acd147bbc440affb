// A content id (`/content/<hash>:<size>`): stored on chain (a program or small blob, its holders
// and deposit) or only on the data plane (job inputs and outputs, held by nodes).
import { getApi, cfg } from '../chain';
import { html, blockLink } from '../ui';

export async function contentPage(el: HTMLElement, params: string[]) {
  const api = getApi();
  const m = /^([0-9a-f]{64}):(\d+)$/.exec(params[0]);
  if (!m) throw new Error(`'${params[0]}' is not a content id: give <64 hex digits of the BLAKE3 hash>:<size in bytes>`);
  const id = { root: `0x${m[1]}`, length: m[2] };
  const [blob, holders, pinned] = await Promise.all([api.query.content.blobs(id), api.query.content.holderCount(id), api.query.content.pinnedUntil(id)]);
  el.innerHTML = html`<h1>Content <span class="mono small">${params[0]}</span></h1>
    <table class="facts">
      <tr><th>size</th><td>${Number(m[2]).toLocaleString('en-US')} bytes</td></tr>
      <tr><th>on chain</th><td id="on-chain">${blob.isSome ? 'yes: stored in the content pallet (a program or small blob)' : 'no: data-plane content (job inputs and outputs live in nodes\' stores)'}</td></tr>
      <tr><th>holders on chain</th><td>${holders.toNumber()}</td></tr>
      <tr><th>pinned until</th><td>${pinned.isSome ? blockLink(pinned.unwrap().toNumber()) : '–'}</td></tr>
    </table>
    <p>From a terminal: <code>gravity data status ${params[0]}</code>, <code>gravity data get ${params[0]}</code>.${cfg().data ? html` Or <a href="/api/content/${params[0]}" download>download it through this explorer</a>.` : ''}</p>`.s;
}
