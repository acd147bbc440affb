// Gravity client helpers on top of @polkadot/api: content upload, jobs, results, audit.
import { ApiPromise, WsProvider } from '@polkadot/api';
import { blake2AsHex } from '@polkadot/util-crypto';
import { u8aToHex, u8aConcat, hexToU8a } from '@polkadot/util';
import zlib from 'node:zlib';

export async function connect(ws) {
  return ApiPromise.create({ provider: new WsProvider(ws), noInitWarn: true });
}

/** Explain a dispatch error in words. */
export function explain(api, dispatchError) {
  if (dispatchError.isModule) {
    const d = api.registry.findMetaError(dispatchError.asModule);
    return `${d.section}.${d.name}: ${d.docs.join(' ')}`;
  }
  return dispatchError.toString();
}

/** Sign, submit, and resolve with { blockHash, events } once in a block; rejects on failure. */
export function send(api, tx, signer) {
  return new Promise((resolve, reject) => {
    tx.signAndSend(signer, ({ status, events, dispatchError }) => {
      if (dispatchError) return reject(new Error(explain(api, dispatchError)));
      if (status.isInBlock) resolve({ blockHash: status.asInBlock, events });
      if (status.isInvalid || status.isDropped || status.isUsurped) reject(new Error(`transaction ${status.type}`));
    }).catch(reject);
  });
}

/** Content id of bytes (blake2-256), as the chain computes it. */
export const contentId = (bytes) => blake2AsHex(bytes, 256);

const le = (n, bytes) => { const b = new Uint8Array(bytes); let v = BigInt(n); for (let i = 0; i < bytes; i++) { b[i] = Number(v & 0xffn); v >>= 8n; } return b; };

/**
 * The digest a replica of `round` reveals for output `output` (hex content id) with `fuel`:
 * `blake2_256("gravity/result" ‖ output ‖ fuel u64 LE ‖ job u64 LE ‖ task u32 LE ‖ round u8)`
 * (`gravity_protocol::result::result_digest`). A verified task's `result` is `(output, fuel)`;
 * recompute each replica's digest with its own round to audit its reveal.
 */
export function resultDigest(output, fuel, job, task, round) {
  return blake2AsHex(u8aConcat(new TextEncoder().encode('gravity/result'), hexToU8a(output), le(fuel, 8), le(job, 8), le(task, 4), [round]), 256);
}

/** Replication the clients use unless told otherwise: 2 replicas must agree; 2 more may run a
 * fresh round if they disagree (a later round is decided by fresh replicas alone). */
export const DEFAULT_REPLICATION = { initial: 2, max: 4, quorum: 2, adaptive: false };

/** Store bytes in the on-chain content store unless already there; returns the content id. */
export async function putContent(api, signer, bytes) {
  const id = contentId(bytes);
  const have = await api.query.content.blobs(id);
  if (have.isNone) await send(api, api.tx.content.put(u8aToHex(bytes)), signer);
  return id;
}

/** Bytes of a content id, or null. */
export async function getContent(api, id) {
  const v = await api.query.content.blobs(id);
  return v.isSome ? v.unwrap().toU8a(true) : null;
}

/**
 * Bytes of a content id read through the runtime API `ContentApi.get` (what provider nodes call),
 * or null. `api.call.contentApi.get(id)` resolves to an `Option<Blob>` codec: `isNone`, or
 * `unwrap().bytes` (a `Bytes`; `.toU8a(true)` gives the raw bytes, `.toU8a()` would prefix the
 * SCALE length).
 */
export async function getContentViaApi(api, id, at) {
  const apiAt = at ? await api.at(at) : api;
  const v = await apiAt.call.contentApi.get(id);
  return v.isSome ? v.unwrap().bytes.toU8a(true) : null;
}

/** Submit a job; resolves with its id. */
export async function submitJob(api, signer, p) {
  const header = await api.rpc.chain.getHeader();
  const tx = api.tx.market.submitJob(
    p.program, p.programSize, p.kind, p.inputs, p.requirements ?? { arch: 'Any', minMemoryMib: 0, gpu: false, minReputation: 0 },
    p.replication ?? DEFAULT_REPLICATION, p.pricePerFuel, p.fuelCap,
    header.number.toNumber() + (p.deadlineBlocks ?? 400),
  );
  const { events, blockHash } = await send(api, tx, signer);
  const ev = events.find(({ event }) => api.events.market.JobSubmitted.is(event));
  return { job: ev.event.data.job.toNumber(), blockHash, events };
}

/** Wait until the job leaves `Active`, calling onProgress({ verified, tasks, status }) each block. */
export function waitJob(api, job, onProgress = () => {}, timeoutMs = 600_000) {
  return new Promise((resolve, reject) => {
    let unsub;
    const timer = setTimeout(() => { unsub?.(); reject(new Error(`job ${job} not finished within ${timeoutMs / 1000} s`)); }, timeoutMs);
    api.rpc.chain.subscribeNewHeads(async (h) => {
      const j = (await api.query.market.jobs(job)).unwrap();
      const info = { block: h.number.toNumber(), status: j.status.type, verified: j.verified.toNumber(), failed: j.failed.toNumber(), tasks: j.tasks.toNumber(), stage: j.stage.type };
      onProgress(info);
      if (info.status !== 'Active') { clearTimeout(timer); unsub?.(); resolve({ ...info, job: j, blockHash: h.hash }); }
    }).then((u) => (unsub = u));
  });
}

/** The tasks of a job, in order. */
export async function tasks(api, job, count) {
  const out = [];
  for (let i = 0; i < count; i++) out.push((await api.query.market.tasks(job, i)).unwrap());
  return out;
}

/** Put render tiles (`x,y,w,h` u32 LE header + RGB8) into one RGB8 image. */
export function assemble(width, height, tiles) {
  const img = Buffer.alloc(width * height * 3);
  for (const t of tiles) {
    const b = Buffer.from(t);
    const [x0, y0, w, h] = [0, 4, 8, 12].map((o) => b.readUInt32LE(o));
    if (x0 + w > width || y0 + h > height || b.length !== 16 + w * h * 3) throw new Error('malformed tile');
    for (let row = 0; row < h; row++) b.copy(img, ((y0 + row) * width + x0) * 3, 16 + row * w * 3, 16 + (row + 1) * w * 3);
  }
  return img;
}

/** Encode RGB8 as PNG. */
export function png(width, height, rgb) {
  const crcTable = Array.from({ length: 256 }, (_, n) => { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; return c >>> 0; });
  const crc = (buf) => { let c = 0xffffffff; for (const x of buf) c = crcTable[(c ^ x) & 0xff] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };
  const chunk = (type, data) => { const len = Buffer.alloc(4); len.writeUInt32BE(data.length); const td = Buffer.concat([Buffer.from(type), data]); const c = Buffer.alloc(4); c.writeUInt32BE(crc(td)); return Buffer.concat([len, td, c]); };
  const raw = Buffer.alloc(height * (width * 3 + 1));
  for (let y = 0; y < height; y++) rgb.copy(raw, y * (width * 3 + 1) + 1, y * width * 3, (y + 1) * width * 3);
  const ihdr = Buffer.alloc(13); ihdr.writeUInt32BE(width, 0); ihdr.writeUInt32BE(height, 4); ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

/** Events of blocks `from..=to` (by number), flattened with their block number. */
export async function eventsBetween(api, from, to) {
  const all = [];
  for (let n = from; n <= to; n++) {
    const hash = await api.rpc.chain.getBlockHash(n);
    const evs = await api.query.system.events.at(hash);
    for (const r of evs) all.push({ block: n, event: r.event, phase: r.phase });
  }
  return all;
}
