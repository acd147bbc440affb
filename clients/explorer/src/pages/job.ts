// A job's story (`/job/<id>`): status and progress live, the escrow flow, every lifecycle step
// with its block, extrinsic and finality, each task's replicas on a commit → reveal → settle
// timeline with their outcomes, payments and penalties, the map → reduce stages, and for a render
// job its image assembled tile by tile. And the job list (`/jobs`).
import { getApi, onHead, cfg } from '../chain';
import { html, grav, big, blockLink, accountLink, cidLink, finality, badge, jobLink, ss58, cid, Html } from '../ui';
import { loadJob, findCall, opt, outcomeName, phaseName, agreeing, endpoints, Step, Call } from '../story';

/** Frames of a render job drawn on the page (the rest: `gravity job get`). */
const MAX_FRAMES = 8;

/** Tasks drawn per page of the task table (a 1,024-task job is read whole, shown in pages). */
const PAGE = 64;

function kindText(k: any): string {
  if (k.isRender) {
    const r = k.asRender;
    return `render ${r.width}×${r.height}, ${r.tile}-px tiles, ${r.frames} frame(s)`;
  }
  if (k.isMapReduce) return `map-reduce, ${k.asMapReduce.reducers} reducer(s)`;
  return 'batch';
}

export function escrowOf(job: any, tasks: Map<number, any>) {
  const e = job.escrow;
  let toProviders = 0n;
  let slashed = 0n;
  for (const t of tasks.values())
    for (const r of t.replicas) {
      toProviders += big(r.paid);
      slashed += big(r.slashed);
    }
  const locked = big(e.locked);
  const paid = big(e.paid);
  const refunded = big(e.refunded);
  return { locked, paid, refunded, held: locked - paid - refunded, toProviders, protocolFee: paid - toProviders, queueDeposit: big(e.queueDeposit), forfeited: big(e.forfeited), compensated: big(e.compensated), slashed };
}

function escrowHtml(job: any, tasks: Map<number, any>): Html {
  const x = escrowOf(job, tasks);
  const row = (k: string, v: bigint, note = '') => html`<tr data-escrow="${k}"><th>${k}</th><td class="num" data-planck="${v.toString()}">${grav(v)}</td><td class="muted">${note}</td></tr>`;
  return html`<table class="escrow">
    ${row('locked', x.locked, 'held from the requester at submission: tasks × (max + dispute replicas) × fuel cap × price')}
    ${row('paid', x.paid, 'paid out of escrow for verified work')}
    ${row('to providers', x.toProviders, 'the agreeing replicas\' payments')}
    ${row('protocol fee', x.protocolFee, 'paid − to providers')}
    ${row('refunded', x.refunded, 'returned to the requester')}
    ${row('held', x.held, 'locked − paid − refunded: still in escrow')}
    ${row('queue deposit', x.queueDeposit, 'a deposit for the job\'s place in the queue')}
    ${row('forfeited', x.forfeited, 'queue deposit kept for declined or unplaceable work')}
    ${row('compensated', x.compensated, 'paid to the requester from providers\' slashes')}
    ${row('slashed from providers', x.slashed, 'bonds taken from replicas that dissented or did not show')}
  </table>
  <p class="${x.paid + x.refunded + x.held === x.locked ? 'ok' : 'bad'}" id="escrow-check">paid + refunded + held = ${grav(x.paid + x.refunded + x.held)} ${x.paid + x.refunded + x.held === x.locked ? '= locked ✓' : '≠ locked ✗'}</p>`;
}

function replicaRows(jobId: number, i: number, t: any): Html[] {
  const rows: Html[] = [];
  const out = t.result.isSome ? t.result.unwrap() : null;
  t.replicas.forEach((r: any, n: number) => {
    const reveal = r.reveal.isSome ? r.reveal.unwrap() : null;
    const outcome = outcomeName(r.outcome);
    rows.push(html`<tr class="replica" data-task="${i}" data-provider="${ss58(r.provider.toString())}" data-round="${r.round.toNumber()}" data-outcome="${outcome}" data-paid="${r.paid.toString()}" data-slashed="${r.slashed.toString()}">
      ${n === 0 ? html`<td rowspan="${t.replicas.length}" class="task"><a href="/job/${jobId}/task/${i}" data-link>task ${i}</a><br>${badge(phaseName(t.phase), 'phase')} ${t.stage.type === 'Reduce' ? badge('reduce', 'stage') : ''}<br>${out ? html`${cidLink(out[0])}<br><span class="muted">${out[1].toString()} fuel</span>` : ''}</td>` : ''}
      <td>${accountLink(r.provider, 'provider')}${r.alone.isTrue ? html` ${badge('alone', 'alone')}` : ''}</td>
      <td>${r.round.toNumber()}</td>
      <td class="timeline">${blockLink(r.assignedAt.toNumber())} → ${blockLink(opt(r.committedAt))} → ${blockLink(reveal ? reveal.at.toNumber() : null)} → ${blockLink(opt(t.settledAt) !== null && r.outcome.isSome ? opt(t.settledAt) : null)}</td>
      <td>${reveal ? reveal.fuelUsed.toString() : '–'}</td>
      <td>${badge(outcome, outcome.toLowerCase())}</td>
      <td class="num">${big(r.paid) > 0n ? grav(r.paid) : '–'}</td>
      <td class="num">${big(r.slashed) > 0n ? grav(r.slashed) : '–'}</td>
    </tr>`);
  });
  if (t.replicas.length === 0) rows.push(html`<tr><td class="task"><a href="/job/${jobId}/task/${i}" data-link>task ${i}</a> ${badge(phaseName(t.phase), 'phase')}</td><td colspan="7" class="muted">waiting for a provider (queued)</td></tr>`);
  return rows;
}

function lifecycle(job: any, tasks: Map<number, any>): Step[] {
  const steps: Step[] = [{ block: job.createdAt.toNumber(), index: null, step: 'submitted', provider: ss58(job.requester.toString()) }];
  let reduceAt: number | null = null;
  let last: number | null = null;
  for (const [i, t] of tasks) {
    const s = opt(t.settledAt);
    if (t.stage.type === 'Reduce') {
      const first = Math.min(...t.replicas.map((r: any) => r.assignedAt.toNumber()));
      if (Number.isFinite(first)) reduceAt = reduceAt === null ? first : Math.min(reduceAt, first);
    }
    if (s !== null) {
      steps.push({ block: s, index: null, step: `task ${i} ${phaseName(t.phase).toLowerCase()}`, task: i });
      last = last === null ? s : Math.max(last, s);
    }
  }
  if (reduceAt !== null) steps.push({ block: reduceAt, index: null, step: 'reduce stage scheduled (first reduce replica assigned)' });
  if (!job.status.isActive && last !== null) steps.push({ block: last, index: null, step: `ended: ${job.status.type} (its last task settled)` });
  steps.sort((a, b) => a.block - b.block || (a.task ?? -1) - (b.task ?? -1));
  return steps;
}

const stepRow = (s: Step) =>
  html`<tr data-step="${s.step}" data-block="${s.block}"><td>${blockLink(s.block, s.index)}</td><td class="xt" data-task="${s.task ?? ''}">${s.index !== null ? html`<span class="mono">extrinsic ${s.index}${s.call ? ` (${s.call})` : ''}</span>` : ''}</td><td>${finality(s.block)}</td><td>${s.step}${s.provider ? html` by ${accountLink(s.provider)}` : ''}</td></tr>`;

async function renderTiles(el: HTMLElement, api: any, jobId: number, job: any, tasks: Map<number, any>, drawn: Set<number>) {
  const box = el.querySelector('#render') as HTMLElement | null;
  if (!box || !job.kind.isRender) return;
  const r = job.kind.asRender;
  const width = r.width.toNumber();
  const height = r.height.toNumber();
  const tilesPerFrame = Math.ceil(width / r.tile.toNumber()) * Math.ceil(height / r.tile.toNumber());
  if (!cfg().data) {
    box.innerHTML = html`<p class="muted">This explorer does not fetch outputs (it was started without <code>--data-rpc</code>). Get the image with <code>gravity job get ${jobId} --dir out</code>.</p>`.s;
    return;
  }
  const frames = Math.min(MAX_FRAMES, r.frames.toNumber());
  if (!box.querySelector('canvas')) {
    box.innerHTML = html`${Array.from({ length: frames }, (_, f) => html`<figure class="frame"><canvas width="${width}" height="${height}" id="${f === 0 ? 'image' : `image-${f}`}" data-tiles="0"></canvas><figcaption>frame ${f}</figcaption></figure>`)}
      <p class="muted" id="tiles">0 of ${tilesPerFrame * frames} tiles</p>${r.frames.toNumber() > frames ? html`<p class="muted">frames ${frames}–${r.frames.toNumber() - 1}: <code>gravity job get ${jobId} --dir out</code></p>` : ''}`.s;
    box.querySelectorAll('canvas').forEach((c) => {
      const ctx = (c as HTMLCanvasElement).getContext('2d')!;
      ctx.fillStyle = '#222';
      ctx.fillRect(0, 0, width, height);
    });
  }
  for (const [i, t] of tasks) {
    const frame = Math.floor(i / tilesPerFrame);
    if (drawn.has(i) || frame >= frames || t.result.isNone) continue;
    const canvas = box.querySelectorAll('canvas')[frame] as HTMLCanvasElement;
    const ctx = canvas.getContext('2d')!;
    drawn.add(i);
    try {
      const out = cid(t.result.unwrap()[0]);
      const peers = await endpoints(api, agreeing(t));
      const res = await fetch(`/api/content/${out}?peers=${peers.join(',')}`);
      if (!res.ok) throw new Error((await res.json()).error);
      const b = new Uint8Array(await res.arrayBuffer());
      const v = new DataView(b.buffer);
      const [x, y, w, h] = [0, 4, 8, 12].map((o) => v.getUint32(o, true));
      if (b.length !== 16 + w * h * 3 || x + w > width || y + h > height) throw new Error('malformed tile');
      const img = ctx.createImageData(w, h);
      for (let p = 0; p < w * h; p++) {
        img.data[p * 4] = b[16 + p * 3];
        img.data[p * 4 + 1] = b[16 + p * 3 + 1];
        img.data[p * 4 + 2] = b[16 + p * 3 + 2];
        img.data[p * 4 + 3] = 255;
      }
      ctx.putImageData(img, x, y);
      const n = box.querySelector('#tiles');
      if (n) n.textContent = `${drawn.size} of ${tilesPerFrame * frames} tiles`;
      canvas.dataset.tiles = String(Number(canvas.dataset.tiles ?? 0) + 1);
    } catch (e: any) {
      drawn.delete(i);
      const n = box.querySelector('#tiles');
      if (n) n.textContent = `tile ${i}: ${e.message} (retrying at the next block; or: gravity job get ${jobId} --dir out)`;
    }
  }
}

export async function jobPage(el: HTMLElement, params: string[], q: URLSearchParams) {
  const api = getApi();
  const id = Number(params[0]);
  if (!/^\d+$/.test(params[0]) || !Number.isSafeInteger(id)) throw new Error(`'${params[0]}' is not a job id: job ids are whole numbers (see /jobs)`);
  let { job, tasks } = await loadJob(api, id);
  let page = Math.max(0, Number(q.get('page') ?? 0) || 0);
  const drawn = new Set<number>();
  const calls = new Map<string, { index: number; call: string }>();
  // The image (a canvas kept across redraws) below the redrawn story.
  el.innerHTML = html`<div id="jobhead"></div>${job.kind.isRender ? html`<section id="image-section"><h2>Image</h2><div id="render"></div></section>` : ''}<div id="jobview"></div>`.s;
  const head = el.querySelector('#jobhead') as HTMLElement;
  const view = el.querySelector('#jobview') as HTMLElement;

  const draw = () => {
    const phases = new Map<string, number>();
    for (const t of tasks.values()) phases.set(phaseName(t.phase), (phases.get(phaseName(t.phase)) ?? 0) + 1);
    const verified = job.verified.toNumber();
    const total = job.tasks.toNumber();
    const steps = lifecycle(job, tasks).map((s) => {
      const k = `${s.block}:${s.step}`;
      const c = calls.get(k);
      return c ? { ...s, index: c.index, call: c.call } : s;
    });
    const list = [...tasks.entries()];
    const pages = Math.max(1, Math.ceil(list.length / PAGE));
    page = Math.min(page, pages - 1);
    const shown = list.slice(page * PAGE, (page + 1) * PAGE);
    const source = job.source.isSome ? job.source.unwrap() : null;
    head.innerHTML = html`
      <h1>Job ${id} ${badge(job.status.type, `status ${job.status.type.toLowerCase()}`)} ${job.ending.isSome ? badge(`ending: ${job.ending.unwrap().type}`, 'ending') : ''}</h1>
      <p class="lede">${kindText(job.kind)} · ${total} task(s) · stage ${job.stage.type.toLowerCase()}${job.kind.isMapReduce ? ` (${job.mapTasks.toNumber()} map task(s), then reduce)` : ''}</p>
      <div class="progress" title="${verified} of ${total} verified"><div style="width:${total ? (100 * verified) / total : 0}%"></div></div>
      <p id="progress" data-verified="${verified}" data-failed="${job.failed.toNumber()}" data-tasks="${total}">${verified} of ${total} verified, ${job.failed.toNumber()} failed · ${[...phases.entries()].map(([k, v]) => `${k} ${v}`).join(', ')}</p>
      <div class="cols">
        <section><h2>Order</h2><table class="facts">
          <tr><th>requester</th><td>${accountLink(job.requester)}</td></tr>
          <tr><th>program</th><td>${cidLink(job.program)}</td></tr>
          ${job.kind.isMapReduce ? html`<tr><th>reduce program</th><td>${cidLink(job.kind.asMapReduce.reduceProgram)}</td></tr>` : ''}
          <tr><th>data source</th><td class="mono">${source ? source.toHex().slice(0, 20) + '…' : 'none (inputs on chain or on the providers)'}</td></tr>
          <tr><th>replication</th><td>${job.replication.initial.toNumber()} replicas, up to ${job.replication.max.toNumber()}, quorum ${job.replication.quorum.toNumber()}${job.replication.adaptive.isTrue ? ', adaptive' : ''}</td></tr>
          <tr><th>price</th><td>${job.pricePerFuel.toString()} planck per fuel, fuel cap ${job.fuelCap.toString()}</td></tr>
          <tr><th>created</th><td>${blockLink(job.createdAt.toNumber())} ${finality(job.createdAt.toNumber())}</td></tr>
          <tr><th>deadline</th><td>${blockLink(job.deadline.toNumber())}</td></tr>
          ${job.reduceInput.isSome ? html`<tr><th>reduce input</th><td>${cidLink(job.reduceInput.unwrap())}</td></tr>` : ''}
        </table></section>
        <section><h2>Escrow</h2>${escrowHtml(job, tasks)}</section>
      </div>`.s;
    view.innerHTML = html`
      <section><h2>Lifecycle</h2><table class="steps"><tbody>${steps.map(stepRow)}</tbody></table></section>
      <section><h2>Tasks and replicas</h2>
        <p class="muted">assigned → committed → revealed → settled; an agreeing replica is paid for its fuel, a dissenting or absent one is slashed. <a href="/job/${id}/task/0" data-link>audit a task →</a></p>
        ${pages > 1 ? html`<p class="pager">tasks ${page * PAGE}–${Math.min(list.length, (page + 1) * PAGE) - 1} of ${list.length}: ${Array.from({ length: pages }, (_, p) => (p === page ? html`<b>${p + 1}</b> ` : html`<a href="/job/${id}?page=${p}" data-link>${p + 1}</a> `))}</p>` : ''}
        <table class="replicas"><thead><tr><th>task</th><th>provider</th><th>round</th><th>timeline</th><th>fuel</th><th>outcome</th><th>paid</th><th>slashed</th></tr></thead>
        <tbody>${shown.map(([i, t]) => replicaRows(id, i, t))}</tbody></table>
      </section>
      <p class="muted">From a terminal: <code>gravity job describe ${id}</code>, <code>gravity job executions ${id}</code>, <code>gravity job history ${id}</code>, <code>gravity job audit ${id}</code>.</p>`.s;
  };
  draw();
  // Extrinsic indices of the steps, read from the block bodies after the first paint.
  const fill = async () => {
    const steps = lifecycle(job, tasks).filter((s) => !calls.has(`${s.block}:${s.step}`)).slice(0, 200);
    for (const s of steps) {
      let c: Call | null = null;
      if (s.step === 'submitted') c = await findCall(api, s.block, s.provider ?? null, id, null, ['submitJob']);
      else if (s.task !== undefined) c = await findCall(api, s.block, null, id, s.task, ['deliver', 'reveal']);
      else if (s.step.startsWith('ended')) c = await findCall(api, s.block, null, id, null, ['deliver', 'reveal', 'cancelJob']);
      if (c) calls.set(`${s.block}:${s.step}`, { index: c.index, call: `${c.section}.${c.method}` });
    }
  };
  const after = async () => {
    await fill().catch(() => undefined);
    draw();
    await renderTiles(el, api, id, job, tasks, drawn);
  };
  void after();
  let busy = false;
  let wasActive = true;
  const off = onHead(async () => {
    if (busy) return;
    if (!job.status.isActive && !wasActive) {
      // Ended: only the finality badges change.
      draw();
      return;
    }
    busy = true;
    try {
      wasActive = job.status.isActive;
      ({ job, tasks } = await loadJob(api, id));
      await after();
    } catch {
      /* retried at the next block */
    } finally {
      busy = false;
    }
  });
  return () => off();
}

export async function jobsPage(el: HTMLElement, _p: string[], q: URLSearchParams) {
  const api = getApi();
  const entries = await api.query.market.jobs.entries();
  const who = q.get('requester');
  const rows = entries
    .map(([k, v]: any) => [k.args[0].toNumber(), v.unwrap()] as [number, any])
    .filter(([, j]: [number, any]) => !who || ss58(j.requester.toString()) === who)
    .sort((a: [number, any], b: [number, any]) => b[0] - a[0]);
  el.innerHTML = html`<h1>Jobs${who ? html` of ${accountLink(who)}` : ''}</h1>
    <table class="jobs"><thead><tr><th>job</th><th>kind</th><th>status</th><th>verified</th><th>requester</th><th>created</th><th>escrow locked</th></tr></thead>
    <tbody>${rows.map(([i, j]: [number, any]) => html`<tr data-job="${i}"><td>${jobLink(i)}</td><td>${kindText(j.kind)}</td><td>${badge(j.status.type, `status ${j.status.type.toLowerCase()}`)}</td><td>${j.verified.toNumber()}/${j.tasks.toNumber()}</td><td>${accountLink(j.requester)}</td><td>${blockLink(j.createdAt.toNumber())}</td><td class="num">${grav(j.escrow.locked)}</td></tr>`)}</tbody></table>
    ${rows.length === 0 ? html`<p class="muted">No jobs yet. Submit one with <code>gravity job submit render --program render.wasm --scene demo.scene</code>.</p>` : ''}`.s;
}
