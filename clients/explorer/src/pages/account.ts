// An account (`/account/<address>`): balances, its roles (provider, validator), the jobs it
// submitted.
import { getApi } from '../chain';
import { html, grav, accountLink, badge, jobLink, blockLink, ss58 } from '../ui';
import { parseAccount } from './provider';

export async function accountPage(el: HTMLElement, params: string[]) {
  const api = getApi();
  const who = parseAccount(params[0]);
  const [acct, provider, validator, jobs] = await Promise.all([
    api.query.system.account(who),
    api.query.providers.providers(who),
    api.query.validators ? api.query.validators.members(who) : Promise.resolve(null),
    api.query.market.jobs.entries(),
  ]);
  const mine = jobs
    .map(([k, v]: any) => [k.args[0].toNumber(), v.unwrap()] as [number, any])
    .filter(([, j]: [number, any]) => ss58(j.requester.toString()) === who)
    .sort((a: [number, any], b: [number, any]) => b[0] - a[0]);
  const d = acct.data;
  el.innerHTML = html`<h1>Account ${accountLink(who)}</h1>
    <p class="mono">${who}</p>
    <table class="facts">
      <tr><th>free</th><td id="free" data-planck="${d.free.toString()}">${grav(d.free)}</td></tr>
      <tr><th>reserved and held</th><td>${grav(d.reserved)}</td></tr>
      <tr><th>frozen</th><td>${grav(d.frozen)}</td></tr>
      <tr><th>nonce</th><td>${acct.nonce.toNumber()}</td></tr>
      <tr><th>roles</th><td>${provider.isSome ? html`<a href="/provider/${who}" data-link>provider</a> ` : ''}${validator && validator.isSome ? badge(`validator: ${validator.unwrap().status.type.toLowerCase()}`, 'validator') : ''}${provider.isNone && !(validator && validator.isSome) ? 'requester or holder' : ''}</td></tr>
    </table>
    <section><h2>Jobs submitted (${mine.length})</h2>
    <table class="jobs"><tbody>${mine.map(([i, j]: [number, any]) => html`<tr data-job="${i}"><td>${jobLink(i)}</td><td>${badge(j.status.type, `status ${j.status.type.toLowerCase()}`)}</td><td>${j.verified.toNumber()}/${j.tasks.toNumber()} verified</td><td>${blockLink(j.createdAt.toNumber())}</td><td class="num">${grav(j.escrow.locked)} locked</td></tr>`)}</tbody></table></section>`.s;
}
