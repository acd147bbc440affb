// The network at a glance: best and finalized blocks live, the validator set and session,
// providers online by capability class, jobs running and the escrow they hold, verified tasks
// per block as a chart, the newest blocks, the market's governed configuration in force. And the
// block list.
import { getApi, onHead, bestHead, finalizedHead } from '../chain';
import { html, grav, big, blockLink, accountLink, finality, bars, jobLink, short, Html } from '../ui';

/** Tasks verified in a block: its `market.TaskVerified` events. */
async function blockSummary(api: any, n: number) {
  const hash = await api.rpc.chain.getBlockHash(n);
  const [events, block] = await Promise.all([api.query.system.events.at(hash), api.rpc.chain.getBlock(hash)]);
  let verified = 0;
  for (const { event } of events) if (event.section === 'market' && event.method === 'TaskVerified') verified++;
  return { number: n, hash: hash.toHex(), extrinsics: block.block.extrinsics.length, events: events.length, verified };
}

type Summary = Awaited<ReturnType<typeof blockSummary>>;

async function summaries(api: any, to: number, count: number): Promise<Summary[]> {
  const from = Math.max(0, to - count + 1);
  const list = await Promise.all(Array.from({ length: to - from + 1 }, (_, i) => blockSummary(api, from + i)));
  return list;
}

/** Append the summaries of blocks after `list`'s last up to `to`, keeping the newest `keep`. */
async function extend(api: any, list: Summary[], to: number, keep: number) {
  const last = list[list.length - 1]?.number ?? to - 1;
  for (let n = last + 1; n <= to; n++) list.push(await blockSummary(api, n));
  while (list.length > keep) list.shift();
}

const blockRows = (list: Summary[]) =>
  list
    .slice()
    .reverse()
    .map((b) => html`<tr data-block="${b.number}"><td>${blockLink(b.number)}</td><td class="mono"><a href="/block/${b.hash}" data-link>${short(b.hash, 8)}</a></td><td>${b.extrinsics}</td><td>${b.events}</td><td>${b.verified}</td><td>${finality(b.number)}</td></tr>`);

const blockTable = (list: Summary[]) =>
  html`<table class="blocks"><thead><tr><th>block</th><th>hash</th><th>extrinsics</th><th>events</th><th>tasks verified</th><th></th></tr></thead><tbody>${blockRows(list)}</tbody></table>`;

function classOf(caps: any): string {
  const mem = caps.memoryMib.toNumber();
  const tier = mem >= 32768 ? '≥32 GiB' : mem >= 8192 ? '8–32 GiB' : mem >= 2048 ? '2–8 GiB' : '<2 GiB';
  return `${caps.arch.type}${caps.gpuModel.length ? ' + GPU' : ''}, ${tier}`;
}

async function stats(api: any) {
  const [validators, session, members, candidates, providers, jobs, nextJob, config] = await Promise.all([
    api.query.session ? api.query.session.validators() : Promise.resolve([]),
    api.query.session ? api.query.session.currentIndex() : Promise.resolve(null),
    api.query.validators ? api.query.validators.members.entries() : Promise.resolve([]),
    api.query.validators ? api.query.validators.candidates() : Promise.resolve([]),
    api.query.providers.providers.entries(),
    api.query.market.jobs.entries(),
    api.query.market.nextJobId(),
    api.query.market.configuration(),
  ]);
  const classes = new Map<string, { online: number; registered: number; slots: number }>();
  for (const [, v] of providers) {
    const p = v.unwrap();
    const c = classOf(p.capabilities);
    const e = classes.get(c) ?? { online: 0, registered: 0, slots: 0 };
    e.registered++;
    if (p.status.isOnline) {
      e.online++;
      e.slots += p.capabilities.maxConcurrent.toNumber();
    }
    classes.set(c, e);
  }
  let running = 0;
  let held = 0n;
  let locked = 0n;
  for (const [, v] of jobs) {
    const j = v.unwrap();
    if (j.status.isActive) running++;
    const e = j.escrow;
    locked += big(e.locked);
    held += big(e.locked) - big(e.paid) - big(e.refunded);
  }
  return { validators: validators.map((v: any) => v.toString()), session: session?.toNumber?.() ?? null, members: members.length, candidates: candidates.length, classes, providers: providers.length, running, jobs: jobs.length, nextJob: nextJob.toNumber(), held, locked, config };
}

/** A Perbill as a percentage. */
const pct = (p: any) => `${p.toNumber() / 1e7} %`;

/** The market configuration in force (`market.Configuration`, set by root's `market.configure`). */
function configHtml(c: any): Html {
  const w = c.windows;
  const rows: [string, string, string][] = [
    ['commit window', `${w.commit.toNumber()} blocks`, 'from assignment to the last block a commitment is accepted'],
    ['reveal window', `${w.reveal.toNumber()} blocks`, 'to open a sealed result'],
    ['delivery window', `${w.delivery.toNumber()} blocks`, 'to store and name an agreed output'],
    ['placement wait', `${c.maxPlacementWait.toNumber()} blocks, ${c.maxDeferrals.toNumber()} fruitless tries`, 'the longest a queued replica waits for a provider'],
    ['queue deposit', grav(big(c.queueDeposit)), 'per queued replica, returned when the job ends'],
    ['protocol fee', pct(c.protocolFee), 'of every payment, to the treasury'],
    ['spot checks', pct(c.spotCheckRate), 'of trusted solo runs replicated after the commit'],
    ['slash', pct(c.slashFraction), 'of the bond, for a dissent or a no-show'],
    ['largest fuel cap', c.maxFuelCap.toString(), 'fuel a task may be given at most'],
  ];
  return html`<section id="market-config"><h2>Market rules in force</h2><table><tbody>${rows.map(([k, v, why]) => html`<tr data-key="${k}"><th>${k}</th><td>${v}</td><td class="muted">${why}</td></tr>`)}</tbody></table><p class="muted">Changed by root with <span class="mono">market.configure</span> (event <span class="mono">ConfigurationSet</span>); a change applies from its next use.</p></section>`;
}

function statsHtml(s: Awaited<ReturnType<typeof stats>>): Html {
  const classes = [...s.classes.entries()].sort();
  return html`
    <div class="cards">
      <div class="card"><h3>Best block</h3><p class="big" id="best">${blockLink(bestHead()?.number)}</p></div>
      <div class="card"><h3>Finalized</h3><p class="big" id="finalized">${blockLink(finalizedHead()?.number)}</p></div>
      <div class="card"><h3>Session</h3><p class="big">${s.session ?? '–'}</p><p>${s.validators.length} validator(s) in the set, ${s.members} registered, ${s.candidates} waiting</p></div>
      <div class="card"><h3>Providers online</h3><p class="big" id="providers-online">${classes.reduce((a, [, c]) => a + c.online, 0)}</p><p>of ${s.providers} registered</p></div>
      <div class="card"><h3>Jobs running</h3><p class="big" id="jobs-running">${s.running}</p><p>${s.jobs} job(s) on record</p></div>
      <div class="card"><h3>Escrow held</h3><p class="big" id="escrow-held">${grav(s.held)}</p><p>${grav(s.locked)} locked by all jobs</p></div>
    </div>
    <div class="cols">
      <section><h2>Validators</h2><ul class="plain">${s.validators.map((v) => html`<li>${accountLink(v)}</li>`)}</ul><p><a href="/providers" data-link>all providers →</a></p></section>
      <section><h2>Providers by capability class</h2><table><thead><tr><th>class</th><th>online</th><th>registered</th><th>slots online</th></tr></thead><tbody>${classes.map(([c, e]) => html`<tr><td>${c}</td><td>${e.online}</td><td>${e.registered}</td><td>${e.slots}</td></tr>`)}</tbody></table>${s.nextJob > 0 ? html`<p>latest: ${jobLink(s.nextJob - 1)} · <a href="/jobs" data-link>all jobs →</a></p>` : ''}</section>
    </div>
    ${configHtml(s.config)}`;
}

export async function networkPage(el: HTMLElement) {
  const api = getApi();
  const best = bestHead()?.number ?? (await api.rpc.chain.getHeader()).number.toNumber();
  const [s, list] = await Promise.all([stats(api), summaries(api, best, 40)]);
  const draw = () => {
    el.innerHTML = html`<h1>Network</h1><div id="stats">${statsHtml(s)}</div>
      <section><h2>Verified tasks per block</h2><div id="chart">${bars(list.map((b) => b.verified), list.map((b) => `#${b.number}`), `tasks verified in blocks #${list[0]?.number ?? 0}–#${list[list.length - 1]?.number ?? 0}`)}</div></section>
      <section><h2>Newest blocks</h2><div id="recent">${blockTable(list.slice(-10))}</div></section>`.s;
  };
  draw();
  let busy = false;
  let statsAt = 0;
  const off = onHead(async (head) => {
    // The head numbers at once (within the import's notification); the rest as it is read.
    const b = el.querySelector('#best');
    if (b) b.innerHTML = blockLink(head.number).s;
    const f = el.querySelector('#finalized');
    if (f) f.innerHTML = blockLink(finalizedHead()?.number).s;
    if (busy) return;
    busy = true;
    try {
      await extend(api, list, head.number, 40);
      if (Date.now() - statsAt > 5000) {
        Object.assign(s, await stats(api));
        statsAt = Date.now();
      }
      draw();
    } catch {
      /* a failed read is retried at the next block; the banner tells of a lost node */
    } finally {
      busy = false;
    }
  });
  return () => off();
}

export async function blocksPage(el: HTMLElement, _p: string[], q: URLSearchParams) {
  const api = getApi();
  const head = bestHead()?.number ?? (await api.rpc.chain.getHeader()).number.toNumber();
  const to = Math.min(head, Number(q.get('to') ?? head));
  const list = await summaries(api, to, 25);
  const draw = () => {
    el.innerHTML = html`<h1>Blocks</h1>${blockTable(list)}<p>${list[0] && list[0].number > 0 ? html`<a href="/blocks?to=${list[0].number - 1}" data-link>older →</a>` : ''}</p>`.s;
  };
  draw();
  if (q.get('to')) return;
  let busy = false;
  const off = onHead(async (h) => {
    if (busy) return;
    busy = true;
    try {
      await extend(api, list, h.number, 25);
      draw();
    } catch {
      /* retried at the next block; the banner tells of a lost node */
    } finally {
      busy = false;
    }
  });
  return () => off();
}
