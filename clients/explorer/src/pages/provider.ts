// A provider (`/provider/<account>`): capabilities, bond, status, reputation, load (the tasks it
// holds now), its work log from the market's record (lifetime earnings and slashes and its newest
// closed replicas, state: there whatever the node pruned), and charts of its reputation over the
// blocks whose state the node keeps. And the provider list (`/providers`).
import { getApi, bestHead } from '../chain';
import { html, grav, blockLink, accountLink, badge, ss58, line, jobLink } from '../ui';
import { base58Encode, decodeAddress } from '@polkadot/util-crypto';

/** Blocks of history read for the charts (a default node keeps 256 blocks of state). */
const WINDOW = 200;

const SCALE = 1000;

function statusText(s: any): string {
  if (s.isUnbonding) return `unbonding until #${s.asUnbonding.until.toNumber()}`;
  return s.type.toLowerCase();
}

export function parseAccount(a: string): string {
  try {
    return ss58(decodeAddress(a));
  } catch {
    throw new Error(`'${a}' is not an account: give an SS58 address (prefix 7007, e.g. 5GrwvaEF…) or 0x + 64 hex`);
  }
}

export async function providerPage(el: HTMLElement, params: string[]) {
  const api = getApi();
  const who = parseAccount(params[0]);
  const [info, rep, endpoint, work] = await Promise.all([
    api.query.providers.providers(who),
    api.query.providers.reputations(who),
    api.query.providers.endpoints(who),
    api.query.market.providerTasks(who),
  ]);
  if (info.isNone && rep.lifetimeAgreed.toNumber() === 0 && rep.lifetimeDissented.toNumber() === 0) {
    throw new Error(`${who} is not a provider on this chain and never was: see its account page (/account/${who}) or the list of providers (/providers)`);
  }
  const p = info.isSome ? info.unwrap() : null;
  const holding = work.open;
  const recent = [...work.recent].reverse();
  const caps = p?.capabilities;
  el.innerHTML = html`<h1>Provider ${accountLink(who)} ${p ? badge(statusText(p.status), `status ${p.status.type.toLowerCase()}`) : badge('deregistered', 'status')}</h1>
    <div class="cols">
      <section><h2>Registration</h2><table class="facts">
        ${p ? html`<tr><th>bond</th><td id="bond" data-planck="${p.bond.toString()}">${grav(p.bond)}</td></tr>
        <tr><th>registered</th><td>${blockLink(p.registeredAt.toNumber())}</td></tr>
        <tr><th>last heartbeat</th><td>${blockLink(p.lastHeartbeat.toNumber())}</td></tr>
        <tr><th>device</th><td>${caps.device.type}, ${caps.arch.type}, ${caps.cores.toNumber()} cores, ${caps.memoryMib.toNumber()} MiB</td></tr>
        <tr><th>GPU</th><td>${caps.gpuModel.length ? `${new TextDecoder().decode(caps.gpuModel.toU8a(true))} (score ${caps.gpuScore.toNumber()})` : 'none'}</td></tr>
        <tr><th>bandwidth</th><td>${caps.bandwidthMbps.toNumber()} Mbit/s, region ${new TextDecoder().decode(caps.region.toU8a(true)) || '–'}</td></tr>
        <tr><th>runs at once</th><td>${caps.maxConcurrent.toNumber()}</td></tr>` : html`<tr><td colspan="2" class="muted">not registered now (its reputation is kept)</td></tr>`}
        <tr><th>node (peer id)</th><td class="mono">${endpoint.isSome ? base58Encode(endpoint.unwrap().toU8a(true)) : '–'}</td></tr>
      </table></section>
      <section><h2>Reputation</h2><table class="facts">
        <tr><th>agreed (lifetime)</th><td id="agreed">${rep.lifetimeAgreed.toNumber()}</td></tr>
        <tr><th>dissented (lifetime)</th><td id="dissented">${rep.lifetimeDissented.toNumber()}</td></tr>
        <tr><th>successes / failures (weighted by value paid, decayed)</th><td>${(rep.successes.toNumber() / SCALE).toFixed(3)} / ${(rep.failures.toNumber() / SCALE).toFixed(3)}</td></tr>
        <tr><th>trusted work</th><td>${(Number(rep.trustedWork.toString()) / SCALE).toFixed(3)} units</td></tr>
      </table></section>
    </div>
    <section><h2>Load: ${holding.length} task(s) held now</h2><ul class="plain" id="holding">${holding.map(([j, t]: any) => html`<li>${jobLink(j.toNumber())}, <a href="/job/${j.toNumber()}/task/${t.toNumber()}" data-link>task ${t.toNumber()}</a></li>`)}</ul></section>
    <section><h2>Work</h2>
      <p id="earnings" data-earned="${work.earned.toString()}" data-slashed="${work.slashed.toString()}" data-closed="${work.closed.toNumber()}">${work.closed.toNumber()} replica(s) closed in all: earned ${grav(work.earned)}, slashed ${grav(work.slashed)}</p>
      <table class="work" id="work"><thead><tr><th>closed in</th><th>task</th><th>outcome</th><th>paid</th><th>slashed</th></tr></thead><tbody>${recent.map(
        (e: any) => html`<tr data-kind="${e.outcome.type}" data-job="${e.job.toNumber()}" data-task="${e.task.toNumber()}" data-paid="${e.paid.toString()}" data-slashed="${e.slashed.toString()}"><td>${blockLink(e.at.toNumber())}</td><td>${jobLink(e.job.toNumber())}, <a href="/job/${e.job.toNumber()}/task/${e.task.toNumber()}" data-link>task ${e.task.toNumber()}</a>${e.round.toNumber() ? ` (round ${e.round.toNumber()})` : ''}</td><td>${e.outcome.type}</td><td class="num">${e.paid.isZero() ? '–' : grav(e.paid)}</td><td class="num">${e.slashed.isZero() ? '–' : grav(e.slashed)}</td></tr>`,
      )}</tbody></table>
      <p class="muted">The market keeps a provider's newest ${api.consts.market.workLogLen.toString()} closed replicas and its totals; every older replica is in its task's record (the job pages).</p></section>
    <section><h2>Over the last ${WINDOW} blocks</h2><div id="history"><p class="muted">reading the blocks the node keeps…</p></div></section>`.s;
  // Charts after the first paint: reputation samples from the state of past blocks.
  void (async () => {
    const box = el.querySelector('#history');
    try {
      const best = bestHead()?.number ?? 0;
      const from = Math.max(1, best - WINDOW + 1);
      const samples: [number, number][] = [];
      const trusted: [number, number][] = [];
      const step = Math.max(1, Math.floor(WINDOW / 20));
      const ns: number[] = [];
      for (let n = from; n <= best; n += step) ns.push(n);
      if (ns[ns.length - 1] !== best) ns.push(best);
      const points = await Promise.all(
        ns.map(async (n) => {
          try {
            const hash = await api.rpc.chain.getBlockHash(n);
            const r = await (await api.at(hash)).query.providers.reputations(who);
            return [n, r] as const;
          } catch {
            return null; // pruned
          }
        }),
      );
      for (const pt of points) {
        if (!pt) continue;
        samples.push([pt[0], pt[1].lifetimeAgreed.toNumber()]);
        trusted.push([pt[0], Number(pt[1].trustedWork.toString()) / SCALE]);
      }
      if (box) box.innerHTML = html`<div class="cols">${line(samples, 'replicas agreed (lifetime)', 'blocks')}${line(trusted, 'trusted work', 'blocks')}</div>`.s;
    } catch (e: any) {
      if (box) box.innerHTML = html`<p class="bad">cannot read the history: ${e.message}</p>`.s;
    }
  })();
}

export async function providersPage(el: HTMLElement) {
  const api = getApi();
  const entries = await api.query.providers.providers.entries();
  const reps = await Promise.all(entries.map(([k]: any) => api.query.providers.reputations(k.args[0])));
  const rows = entries.map(([k, v]: any, i: number) => {
    const p = v.unwrap();
    const who = ss58(k.args[0].toString());
    return html`<tr data-provider="${who}"><td>${accountLink(who, 'provider')}</td><td>${badge(statusText(p.status), `status ${p.status.type.toLowerCase()}`)}</td><td>${p.capabilities.arch.type}${p.capabilities.gpuModel.length ? ' + GPU' : ''}, ${p.capabilities.cores.toNumber()} cores, ${p.capabilities.memoryMib.toNumber()} MiB</td><td>${p.capabilities.maxConcurrent.toNumber()}</td><td class="num">${grav(p.bond)}</td><td>${reps[i].lifetimeAgreed.toNumber()} / ${reps[i].lifetimeDissented.toNumber()}</td></tr>`;
  });
  el.innerHTML = html`<h1>Providers</h1><table><thead><tr><th>provider</th><th>status</th><th>machine</th><th>runs at once</th><th>bond</th><th>agreed / dissented</th></tr></thead><tbody>${rows}</tbody></table>`.s;
}
