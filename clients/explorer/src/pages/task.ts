// A task's audit (`/job/<id>/task/<i>`): program and input ids, the agreed output id and fuel,
// every replica's commitment and reveal checked in the page against each other (the digest a
// replica reveals is recomputed from the agreed output, fuel, job, task and its round; its
// commitment is reopened with the salt from its `reveal` extrinsic, in the block its record
// names), and re-verify: the task re-executed by the providers' own sandbox (through the
// explorer's server, which runs `gravity job audit`), its output id and fuel compared.
// The digest and commitment as gravity_protocol computes them (shared with clients/js).
import { resultDigest, commitmentOf, parseId } from '../../../js/protocol.mjs';
import { getApi, cfg } from '../chain';
import { html, grav, big, blockLink, accountLink, cidLink, finality, badge, ss58, cid, Html } from '../ui';
import { loadJob, findCall, opt, outcomeName, phaseName } from '../story';

/** The salt of `provider`'s reveal of job/task, from its extrinsic in block `at`. */
async function revealSalt(api: any, at: number, provider: string, job: number, task: number) {
  const c = await findCall(api, at, provider, job, task, ['reveal']);
  if (!c) return null;
  const call = c.ext.method;
  if (c.method === 'reveal') return { salt: call.args[call.meta.args.findIndex((a: any) => a.name.toString() === 'salt')].toU8a(), index: c.index, call: 'market.reveal' };
  const actions = call.args[0];
  for (const a of actions) {
    if (a.isReveal && a.asReveal.job.toNumber() === job && a.asReveal.task.toNumber() === task) return { salt: a.asReveal.salt.toU8a(), index: c.index, call: 'market.batch' };
  }
  return null;
}

const mark = (ok: boolean | null, yes: string, no: string) =>
  ok === null ? html`<span class="muted">–</span>` : ok ? html`<span class="ok" data-check="ok">✓ ${yes}</span>` : html`<span class="bad" data-check="bad">✗ ${no}</span>`;

export async function taskPage(el: HTMLElement, params: string[]) {
  const api = getApi();
  const id = Number(params[0]);
  const i = Number(params[1]);
  if (!/^\d+$/.test(params[0]) || !/^\d+$/.test(params[1])) throw new Error(`'/job/${params[0]}/task/${params[1]}': job and task are whole numbers`);
  const { job, tasks } = await loadJob(api, id);
  const t = tasks.get(i);
  if (!t) throw new Error(`job ${id} has no task ${i} (it has tasks 0 to ${job.tasks.toNumber() - 1})`);
  const result = t.result.isSome ? t.result.unwrap() : null;
  const agreedOut = result ? cid(result[0]) : null;
  const agreedFuel = result ? BigInt(result[1].toString()) : null;
  const rows: Html[] = [];
  for (const r of t.replicas) {
    const who = ss58(r.provider.toString());
    const reveal = r.reveal.isSome ? r.reveal.unwrap() : null;
    const outcome = outcomeName(r.outcome);
    let matches: boolean | null = null;
    let opens: boolean | null = null;
    let revealAt: Html = html``;
    let commitAt: Html = html``;
    const commit = await findCall(api, opt(r.committedAt), who, id, i, ['commit']).catch(() => null);
    if (commit) commitAt = blockLink(opt(r.committedAt), commit.index);
    if (reveal) {
      if (agreedOut !== null && agreedFuel !== null) {
        const expected = resultDigest(parseId(agreedOut), agreedFuel, id, i, r.round.toNumber());
        matches = reveal.digest.toHex() === expected && BigInt(reveal.fuelUsed.toString()) === agreedFuel;
      }
      const s = await revealSalt(api, reveal.at.toNumber(), who, id, i).catch(() => null);
      if (s && r.commitment.isSome) opens = commitmentOf(reveal.digest.toHex(), BigInt(reveal.fuelUsed.toString()), who, id, i, s.salt) === r.commitment.unwrap().toHex();
      if (s) revealAt = blockLink(reveal.at.toNumber(), s.index);
    }
    const consistent = matches === null ? null : matches === (outcome === 'Agreed');
    rows.push(html`<tr class="replica" data-provider="${who}" data-outcome="${outcome}" data-opens="${String(opens)}" data-matches="${String(matches)}">
      <td>${accountLink(who, 'provider')}</td><td>${r.round.toNumber()}</td><td>${badge(outcome, outcome.toLowerCase())}</td>
      <td class="mono small">${r.commitment.isSome ? r.commitment.unwrap().toHex() : '–'}<br>${commitAt}</td>
      <td class="mono small">${reveal ? reveal.digest.toHex() : '–'}<br>${revealAt} ${reveal ? html`${reveal.fuelUsed.toString()} fuel` : ''}</td>
      <td>${mark(opens, 'reveal opens the commitment', 'reveal does not open the commitment')}<br>${mark(matches, 'reveal is the agreed result', 'reveal differs from the agreed result')}${consistent === false ? html`<br><span class="bad">✗ judged ${outcome} against its reveal</span>` : ''}</td>
      <td class="num">${big(r.paid) > 0n ? grav(r.paid) : '–'}</td><td class="num">${big(r.slashed) > 0n ? grav(r.slashed) : '–'}</td></tr>`);
  }
  const c = cfg();
  el.innerHTML = html`
    <h1>Audit: <a href="/job/${id}" data-link>job ${id}</a>, task ${i} ${badge(phaseName(t.phase), 'phase')}</h1>
    <table class="facts">
      <tr><th>stage</th><td>${t.stage.type.toLowerCase()} (parameter ${t.param.toNumber()})</td></tr>
      <tr><th>program</th><td>${cidLink(t.program)}</td></tr>
      <tr><th>input</th><td>${cidLink(t.input)}</td></tr>
      <tr><th>agreed output</th><td id="agreed-output" data-output="${agreedOut ?? ''}">${agreedOut ? cidLink(agreedOut) : html`<span class="muted">not verified yet</span>`}</td></tr>
      <tr><th>agreed fuel</th><td id="agreed-fuel">${agreedFuel?.toString() ?? '–'}</td></tr>
      <tr><th>settled</th><td>${blockLink(opt(t.settledAt))} ${finality(opt(t.settledAt))}</td></tr>
      <tr><th>round</th><td>${t.round.toNumber()} (quorum ${t.quorum.toNumber()})</td></tr>
    </table>
    <section><h2>Replicas</h2>
    <table class="replicas"><thead><tr><th>provider</th><th>round</th><th>outcome</th><th>commitment</th><th>reveal</th><th>checked in this page</th><th>paid</th><th>slashed</th></tr></thead><tbody>${rows}</tbody></table></section>
    <section><h2>Re-verify</h2>
    ${
      result
        ? html`<p>Re-execute this task in the providers' sandbox (the same rewritten, metered module, limits and seed) and compare its output id and fuel with:</p>
      <form id="reverify"><label>output id <input id="claim" class="mono" size="75" value="${agreedOut}"></label> <label>fuel <input id="claim-fuel" class="mono" size="14" value="${agreedFuel!.toString()}"></label> <button ${c.reverify ? '' : 'disabled'}>Re-verify</button></form>
      <div id="verdict" aria-live="polite">${c.reverify ? '' : html`<p class="muted">This explorer was started without <code>--reverify</code>: run the same check from a terminal.</p>`}</div>`
        : html`<p class="muted">Nothing to re-verify until the task is verified.</p>`
    }
    <p>From a terminal: <code>gravity job audit ${id} ${i}</code> (it also checks every local copy against the chain's ids and the job's escrow).</p></section>`.s;
  const form = el.querySelector('#reverify') as HTMLFormElement | null;
  form?.addEventListener('submit', async (e) => {
    e.preventDefault();
    const verdict = el.querySelector('#verdict')!;
    const claim = (el.querySelector('#claim') as HTMLInputElement).value.trim();
    const claimFuel = (el.querySelector('#claim-fuel') as HTMLInputElement).value.trim();
    verdict.innerHTML = html`<p class="muted" data-state="running">re-executing task ${i}…</p>`.s;
    try {
      const res = await fetch('/api/reverify', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ job: id, task: i }) });
      const body = await res.json();
      if (!res.ok) throw new Error(body.error);
      const rerun = body.row.rerun;
      if (!rerun || !rerun.output) throw new Error(`the re-execution did not run: ${(body.problems ?? []).join('; ') || 'no program or input'}`);
      const outOk = rerun.output === claim;
      const fuelOk = String(rerun.fuel) === claimFuel;
      verdict.innerHTML = html`<div class="${outOk && fuelOk ? 'ok' : 'bad'}" data-verdict="${outOk && fuelOk ? 'match' : 'mismatch'}">
        <p><b>${outOk && fuelOk ? 'MATCH' : 'MISMATCH'}</b>: re-executed in ${rerun.ms} ms.</p>
        <p>output ${rerun.output} ${outOk ? '= the id checked ✓' : `≠ ${claim} ✗`}</p>
        <p>fuel ${rerun.fuel} ${fuelOk ? '= the fuel checked ✓' : `≠ ${claimFuel} ✗`}</p>
        ${body.problems?.length ? html`<p>The audit of the chain's record also found: ${body.problems.join('; ')}</p>` : ''}</div>`.s;
    } catch (err: any) {
      verdict.innerHTML = html`<p class="bad" data-verdict="error">re-verify failed: ${err.message}</p>`.s;
    }
  });
}
