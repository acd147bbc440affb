// A block (`/block/<number or hash>`): its header and finality, every extrinsic decoded (with the
// metadata of the runtime that made the block, so blocks on both sides of a runtime upgrade
// decode) with its events grouped under it, and the block's own initialization and
// finalization events.
import { getApi, bestHead, rawCall } from '../chain';
import { html, blockLink, accountLink, finality, badge, human, short, Html } from '../ui';

function eventHtml(e: any): Html {
  const { section, method, data } = e.event;
  const fields = e.event.meta.fields.map((f: any, i: number) => html`<span class="field"><i>${f.name.isSome ? f.name.unwrap().toString() : i}</i>=${data[i]?.toHuman ? JSON.stringify(data[i].toHuman()) : String(data[i])}</span> `);
  return html`<li class="event" data-event="${section}.${method}"><b>${section}.${method}</b> ${fields}</li>`;
}

export async function blockPage(el: HTMLElement, params: string[]) {
  const api = getApi();
  const id = params[0];
  let hash: string;
  if (/^\d+$/.test(id)) {
    const n = Number(id);
    const best = bestHead()?.number ?? 0;
    if (n > best) throw new Error(`block #${n} does not exist yet: the best block is #${best}`);
    hash = (await api.rpc.chain.getBlockHash(n)).toHex();
    if (/^0x0+$/.test(hash)) throw new Error(`the node has no block #${n}`);
  } else if (/^0x[0-9a-fA-F]{64}$/.test(id)) hash = id;
  else throw new Error(`'${id}' is not a block: give a number or a 0x-prefixed 32-byte hash`);
  // Known to the node? (The raw call answers null; the decorated one would log an error.)
  if (!(await rawCall('chain_getHeader', [hash]))) throw new Error(`the node has no block ${id} (an unknown hash, or a block it never imported)`);
  const signed = await api.rpc.chain.getBlock(hash);
  const header = signed.block.header;
  const number = header.number.toNumber();
  const at = await api.at(hash);
  // The runtime that built the block is the one in its parent's state (a block that upgrades
  // the code was built by the old one); @polkadot/api decodes it with that runtime's metadata.
  let eventsError = '';
  const [events, version] = await Promise.all([
    at.query.system.events().catch((e: any) => {
      eventsError = String(e?.message ?? e);
      return null;
    }),
    api.rpc.state.getRuntimeVersion(number > 0 ? header.parentHash : hash).catch(() => null),
  ]);
  let author: string | null = null;
  try {
    const h = await api.derive.chain.getHeader(hash);
    author = h?.author?.toString() ?? null;
  } catch {
    author = null;
  }
  const byIndex = new Map<number, any[]>();
  const own: any[] = [];
  for (const e of events ?? []) {
    if (e.phase.isApplyExtrinsic) {
      const i = e.phase.asApplyExtrinsic.toNumber();
      byIndex.set(i, [...(byIndex.get(i) ?? []), e]);
    } else own.push(e);
  }
  const exts = signed.block.extrinsics.map((x: any, i: number) => {
    const evs = byIndex.get(i) ?? [];
    const failed = evs.some((e) => e.event.section === 'system' && e.event.method === 'ExtrinsicFailed');
    let why = '';
    if (failed) {
      const err = evs.find((e) => e.event.method === 'ExtrinsicFailed').event.data[0];
      if (err.isModule) {
        const m = at.registry.findMetaError(err.asModule);
        why = `${m.section}.${m.name}: ${m.docs.join(' ')}`;
      } else why = err.type;
    }
    return html`<section class="extrinsic" id="x${i}" data-index="${i}" data-call="${x.method.section}.${x.method.method}">
      <h3>${blockLink(number, i)} <b>${x.method.section}.${x.method.method}</b> ${x.isSigned ? html`signed by ${accountLink(x.signer.toString())} (nonce ${x.nonce.toNumber()})` : badge('inherent or unsigned', 'muted')} ${failed ? badge('failed', 'bad') : badge('ok', 'ok')}</h3>
      ${failed ? html`<p class="bad">${why}</p>` : ''}
      <p class="mono small">hash ${x.hash.toHex()}</p>
      <details><summary>arguments</summary><pre>${human(x.method.args.length ? Object.fromEntries(x.method.meta.args.map((a: any, k: number) => [a.name.toString(), x.method.args[k].toHuman()])) : {})}</pre></details>
      <ul class="events">${evs.map(eventHtml)}</ul></section>`;
  });
  el.innerHTML = html`<h1>Block #${number} ${finality(number)}</h1>
    <table class="facts">
      <tr><th>hash</th><td class="mono" id="block-hash">${hash}</td></tr>
      <tr><th>parent</th><td class="mono">${number > 0 ? html`<a href="/block/${header.parentHash.toHex()}" data-link>${short(header.parentHash.toHex(), 10)}</a>` : '–'}</td></tr>
      <tr><th>author</th><td>${author ? accountLink(author) : '–'}</td></tr>
      <tr><th>built by runtime</th><td>${version ? `${version.specName.toString()} v${version.specVersion.toNumber()}` : '–'}</td></tr>
      <tr><th>state root</th><td class="mono">${short(header.stateRoot.toHex(), 10)}</td></tr>
      <tr><th>events</th><td>${events === null ? `not readable (${eventsError.slice(0, 160)}): a node keeps events only for the blocks whose state it keeps, and at the instant of a runtime upgrade a reload may be needed; the extrinsics below are from the block body` : `${events.length}`}</td></tr>
    </table>
    <p>${number > 0 ? blockLink(number - 1) : ''} ← → <a href="/block/${number + 1}" data-link>#${number + 1}</a></p>
    <h2>Extrinsics (${signed.block.extrinsics.length})</h2>${exts}
    ${own.length ? html`<h2>Block events (initialization and finalization)</h2><ul class="events">${own.map(eventHtml)}</ul>` : ''}`.s;
}
