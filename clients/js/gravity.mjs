// Gravity client helpers on top of @polkadot/api: programs on chain, job data over the data
// plane (the node's data RPC, `gravity_*`: a server of its own that a node runs when started
// with `--data-rpc-port`, loopback only), jobs, results, audit.
import { ApiPromise, WsProvider } from '@polkadot/api';
import { base58Decode, base58Encode } from '@polkadot/util-crypto';
import { u8aToHex, hexToU8a } from '@polkadot/util';
import { statSync, linkSync, copyFileSync, writeFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';

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

export { contentId, idOf, idText, parseId, resultDigest, commitmentOf } from './protocol.mjs';
import { contentId, idOf, idText, parseId } from './protocol.mjs';

/** Replication the clients use unless told otherwise: 2 replicas must agree; 2 more may run a
 * fresh round if they disagree (a later round is decided by fresh replicas alone). */
export const DEFAULT_REPLICATION = { initial: 2, max: 4, quorum: 2, adaptive: false };

/** Store a program (or other small blob) on chain unless already there; returns its content id. */
export async function putContent(api, signer, bytes) {
  const id = contentId(bytes);
  // Stored by someone else is not enough: hold it too (with a deposit), so that nobody who put
  // the same bytes first can take them away by removing them.
  const held = await api.query.content.holders(id, signer.address);
  if (held.isNone) await send(api, api.tx.content.put(u8aToHex(bytes)), signer);
  return id;
}

/** The data RPC a local network's node 0 runs (`gravity-node --data-rpc-port 9955`). */
export const DEFAULT_DATA_RPC = 'ws://127.0.0.1:9955';

/**
 * Connect to a node's data RPC (`ws://127.0.0.1:<--data-rpc-port>`). The node refuses it to web
 * pages and takes no paths: files move through its data exchange directory (`info.ioDir`).
 * Returns `{ call(method, params), info, disconnect() }`.
 */
export async function connectData(url = DEFAULT_DATA_RPC) {
  const provider = new WsProvider(url, 1000);
  await provider.isReady;
  const call = (method, params = []) => provider.send(method, params);
  const info = await call('gravity_dataInfo');
  return { url, call, info, disconnect: () => provider.disconnect() };
}

/**
 * Put job data into the content store of the node whose data RPC `data` is connected to
 * (`connectData`): bytes, or `{ path }` of a file on this machine (linked or copied into the
 * node's data exchange directory, imported, then removed there: the node must run on this
 * machine). Nothing goes on chain. Returns the content id.
 */
export async function putData(data, what) {
  const size = what.path ? statSync(what.path).size : what.length;
  if (!what.path && size <= data.info.maxCallBytes) return parseId(await data.call('gravity_put', [u8aToHex(what)]));
  const name = `put-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const staged = path.join(data.info.ioDir, name);
  if (what.path) {
    try { linkSync(what.path, staged); } catch { copyFileSync(what.path, staged); }
  } else {
    writeFileSync(staged, what);
  }
  try {
    return parseId(await data.call('gravity_import', [name]));
  } finally {
    rmSync(staged, { force: true });
  }
}

/** The peer id of the node `api` is connected to, as bytes (a job's `source`). */
export async function localPeerId(api) {
  return u8aToHex(base58Decode((await api.rpc.system.localPeerId()).toString()));
}

/** The registered data endpoints (base58 peer ids) of `accounts`. */
export async function endpoints(api, accounts) {
  const out = [];
  for (const a of accounts) {
    const e = await api.query.providers.endpoints(a);
    if (e.isSome) out.push(base58Encode(e.unwrap().toU8a(true)));
  }
  return out;
}

/**
 * Fetch content into the store of the node whose data RPC `data` is connected to
 * (`gravity_get`), asking `peers` (base58 peer ids) and the connected peers; resolves with its
 * status once complete.
 */
export async function getData(data, id, peers = []) {
  return data.call('gravity_get', [idText(id), peers]);
}

/** The bytes of content complete on the node of `data`, read in parts (`gravity_read`). */
export async function readData(data, id) {
  const { length } = idOf(id);
  const parts = [];
  const step = Math.min(data.info.maxCallBytes, 4 << 20);
  for (let at = 0; at < length;) {
    const part = hexToU8a(await data.call('gravity_read', [idText(id), at, Math.min(step, length - at)]));
    if (part.length === 0) throw new Error(`the node returned nothing for ${idText(id)} at byte ${at}`);
    parts.push(part);
    at += part.length;
  }
  return Buffer.concat(parts);
}

/**
 * The verified output of a task as bytes, fetched over the data plane into the node of `data`
 * from the providers that agreed on it (their registered endpoints), then read from it.
 */
export async function taskOutput(api, data, task) {
  const [out] = task.result.unwrap();
  const agreed = task.replicas.filter((r) => r.outcome.isSome && r.outcome.unwrap().type === 'Agreed').map((r) => r.provider.toString());
  await getData(data, out, await endpoints(api, agreed));
  return readData(data, out);
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

/**
 * Submit a job; resolves with its id. `p.source` is the peer id (0x bytes) of a node holding the
 * inputs: by default the node `api` is connected to (where `putData` put them).
 */
export async function submitJob(api, signer, p) {
  const header = await api.rpc.chain.getHeader();
  const source = p.source === undefined ? await localPeerId(api) : p.source;
  // One `JobSpec` (pallet-gravity-market `types.rs`): one form in polkadot.js apps.
  const tx = api.tx.market.submitJob({
    program: p.program, source, kind: p.kind, inputs: p.inputs,
    requirements: p.requirements ?? { arch: 'Any', minMemoryMib: 0, gpu: false, minReputation: 0 },
    replication: p.replication ?? DEFAULT_REPLICATION, pricePerFuel: p.pricePerFuel, fuelCap: p.fuelCap,
    deadline: header.number.toNumber() + (p.deadlineBlocks ?? 400),
  });
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

/** Encode RGB8 as PNG (pngjs). */
export function png(width, height, rgb) {
  const img = new PNG({ width, height });
  img.data = Buffer.from(rgb);
  return PNG.sync.write(img, { colorType: 2, inputColorType: 2, inputHasAlpha: false });
}

/** Decode a PNG into `{ width, height, rgb }` (RGB8, alpha dropped). */
export function unpng(bytes) {
  const { width, height, data } = PNG.sync.read(Buffer.from(bytes));
  const rgb = Buffer.alloc(width * height * 3);
  for (let i = 0; i < width * height; i++) data.copy(rgb, i * 3, i * 4, i * 4 + 3);
  return { width, height, rgb };
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
