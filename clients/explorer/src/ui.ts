// Rendering helpers: escaped HTML templates, amounts, ids, links, badges, a small bar chart.
import { encodeAddress, decodeAddress } from '@polkadot/util-crypto';
import { finalizedHead } from './chain';

/** A piece of trusted HTML (made by `html` or `raw`). */
export class Html {
  constructor(readonly s: string) {}
  toString() {
    return this.s;
  }
}

const esc = (v: unknown) =>
  String(v).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function part(v: unknown): string {
  if (v instanceof Html) return v.s;
  if (Array.isArray(v)) return v.map(part).join('');
  if (v === null || v === undefined || v === false) return '';
  return esc(v);
}

/** Tagged template: interpolated values are escaped unless they are `Html`. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let s = strings[0];
  for (let i = 0; i < values.length; i++) s += part(values[i]) + strings[i + 1];
  return new Html(s);
}

export const raw = (s: string) => new Html(s);

export const SS58 = 7007;
export const PLANCKS = 10n ** 12n;

/** 1234500000000 → "1.2345 GRAV". */
export function grav(v: bigint | number | string | { toString(): string }): string {
  const p = BigInt(v.toString());
  const neg = p < 0n;
  const a = neg ? -p : p;
  const whole = a / PLANCKS;
  const frac = (a % PLANCKS).toString().padStart(12, '0').replace(/0+$/, '');
  return `${neg ? '-' : ''}${whole.toLocaleString('en-US')}${frac ? `.${frac}` : ''} GRAV`;
}

export const big = (v: any): bigint => BigInt(v?.toString() ?? '0');

/** A content id as the chain stores it → `<64 hex>:<size>` (the data plane's text form). */
export function cid(id: any): string {
  const root = (id.root?.toHex ? id.root.toHex() : String(id.root)).replace(/^0x/, '');
  return `${root}:${id.length.toString()}`;
}

export function ss58(a: any): string {
  try {
    return encodeAddress(typeof a === 'string' ? decodeAddress(a) : a.toU8a ? a.toU8a() : a, SS58);
  } catch {
    return String(a);
  }
}

export const short = (s: string, n = 6) => (s.length > 2 * n + 3 ? `${s.slice(0, n + 2)}…${s.slice(-n)}` : s);

export const jobLink = (id: number | string) => html`<a href="/job/${id}" data-link>job ${id}</a>`;
export const blockLink = (n: number | string | null | undefined, index?: number | null) =>
  n === null || n === undefined
    ? html`<span class="muted">–</span>`
    : index !== undefined && index !== null
      ? html`<a href="/block/${n}#x${index}" data-link class="mono" title="block #${n}, extrinsic ${index}">#${n}-${index}</a>`
      : html`<a href="/block/${n}" data-link class="mono">#${n}</a>`;
export const accountLink = (a: any, kind: 'account' | 'provider' = 'account') => {
  const s = ss58(a);
  return html`<a href="/${kind}/${s}" data-link class="mono" title="${s}">${short(s, 6)}</a>`;
};
export const cidLink = (id: any) => {
  const t = typeof id === 'string' ? id : cid(id);
  return html`<a href="/content/${t}" data-link class="mono" title="${t}">${short(t, 8)}</a>`;
};

/** "finalized" or "best" for block `n`, by the latest finalized head. */
export function finality(n: number | null | undefined): Html {
  if (n === null || n === undefined) return html``;
  const f = finalizedHead();
  const fin = f !== null && n <= f.number;
  return html`<span class="badge ${fin ? 'fin' : 'best'}" data-finality="${fin ? 'finalized' : 'best'}">${fin ? 'finalized' : 'best'}</span>`;
}

export const badge = (text: string, cls = '') => html`<span class="badge ${cls || text.toLowerCase()}">${text}</span>`;

/** A bar chart of `values` (SVG), labelled by `labels`. */
export function bars(values: number[], labels: string[], title: string): Html {
  const w = 600;
  const h = 120;
  const max = Math.max(1, ...values);
  const bw = values.length ? w / values.length : w;
  const rects = values
    .map((v, i) => {
      const bh = (v / max) * (h - 20);
      return `<rect x="${(i * bw + 1).toFixed(1)}" y="${(h - bh).toFixed(1)}" width="${Math.max(1, bw - 2).toFixed(1)}" height="${bh.toFixed(1)}"><title>${esc(labels[i])}: ${v}</title></rect>`;
    })
    .join('');
  return html`<figure class="chart"><svg viewBox="0 0 ${w} ${h}" role="img" aria-label="${title}">${raw(rects)}<text x="2" y="12">${max}</text></svg><figcaption>${title}</figcaption></figure>`;
}

/** A line chart of points (x, y) (SVG). */
export function line(points: [number, number][], title: string, xLabel: string): Html {
  const w = 600;
  const h = 120;
  if (points.length === 0) return html`<p class="muted">${title}: no samples</p>`;
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const y1 = Math.max(1, ...ys);
  const px = (x: number) => (x1 === x0 ? w / 2 : ((x - x0) / (x1 - x0)) * (w - 10) + 5);
  const py = (y: number) => h - 5 - (y / y1) * (h - 20);
  const d = points.map((p, i) => `${i ? 'L' : 'M'}${px(p[0]).toFixed(1)},${py(p[1]).toFixed(1)}`).join(' ');
  return html`<figure class="chart"><svg viewBox="0 0 ${w} ${h}" role="img" aria-label="${title}"><path d="${d}" fill="none" stroke-width="2"/><text x="2" y="12">${y1}</text></svg><figcaption>${title} (${xLabel} #${x0} → #${x1})</figcaption></figure>`;
}

/** JSON of a decoded codec value, with big numbers kept as strings. */
export const human = (v: any) => JSON.stringify(v?.toHuman ? v.toHuman() : v, null, 1);
