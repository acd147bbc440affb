// End to end with job data far beyond what chain state could hold: 1 validator + 3 provider
// nodes (real processes on loopback) run a render job whose scene is 256 MiB and a map-reduce
// word count over 1 GiB of text. The data travels only over the data plane: the requester puts
// it into its node's content store (`gravity_put`), providers fetch it from there and from each
// other, reducers fetch only their partition of each map output, and the requester fetches the
// outputs from the providers. Results are compared with native runs; the chain's state stays
// small (its total size is measured before and after).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, openSync, writeSync, closeSync, rmSync } from 'node:fs';
import path from 'node:path';
import { useNetwork, TASKS_BIN } from './lib/network.js';
import { putContent, putData, submitJob, waitJob, tasks, taskOutput, assemble, idText } from '../../clients/js/gravity.mjs';

const root = path.resolve(import.meta.dirname, '..', '..');
const MiB = 1 << 20;
const SCENE_BYTES = 256 * MiB;
const SPLITS = 32;
const TEXT_BYTES = 1024 * MiB;
let net;
let api;
let data;
let alice;
const work = useNetwork('gravity-bigdata-', (started) => ({ net, api, data, alice } = started));

/** Total size in bytes of the chain's state at the best block: every key and its value. */
async function stateSize() {
  const at = (await api.rpc.chain.getHeader()).hash;
  let total = 0;
  let start;
  for (;;) {
    const keys = await api.rpc.state.getKeysPaged('0x', 1000, start, at);
    if (keys.length === 0) break;
    const sizes = await Promise.all(keys.map((k) => api.rpc.state.getStorageSize(k, at)));
    // `state_getStorageSize` answers a number (null for a key without a value).
    for (let i = 0; i < keys.length; i++) total += keys[i].length + Number(sizes[i]?.toString() ?? 0);
    start = keys[keys.length - 1];
    if (keys.length < 1000) break;
  }
  return total;
}

/** Write `bytes` bytes to `file` by repeating `unit` (whole lines), through a 16 MiB buffer. */
function writeRepeated(file, unit, bytes) {
  const buf = Buffer.alloc(16 * MiB);
  let fill = 0;
  while (fill + unit.length <= buf.length) { unit.copy(buf, fill); fill += unit.length; }
  const fd = openSync(file, 'w');
  let left = bytes;
  while (left > 0) { const n = Math.min(left, fill); writeSync(fd, buf, 0, n); left -= n; }
  closeSync(fd);
}

test('a render job whose scene is 256 MiB travels off chain and equals the native render', { timeout: 900_000 }, async () => {
  // The demo scene's items at 1024×704 in one tile, then 256 MiB of annotation lines
  // (comments): the renderer streams the scene and keeps only its items, so the task needs a few
  // MiB of memory while its node fetches and it reads all 256 MiB. The tile's output (2.1 MB)
  // is larger than an on-chain blob may be: it is delivered off chain.
  const items = readFileSync(path.join(root, 'tasks/render/scenes/demo.scene'), 'utf8')
    .replace(/^size .*$/m, 'size 1024 704').replace(/^tile .*$/m, 'tile 1024').replace(/^samples .*$/m, 'samples 2');
  const small = path.join(work, 'small.scene');
  writeFileSync(small, items);
  const scene = path.join(work, 'big.scene');
  writeFileSync(scene, items);
  const note = Buffer.from('# annotation: camera rig calibration, asset provenance, notes for the next artist\n');
  const fd = openSync(scene, 'a');
  const block = Buffer.alloc(16 * MiB);
  let fill = 0;
  for (; fill + note.length <= block.length; fill += note.length) note.copy(block, fill);
  for (let left = SCENE_BYTES; left > 0; left -= fill) writeSync(fd, block, 0, Math.min(left, fill));
  closeSync(fd);
  const before = await stateSize();
  const render = readFileSync(path.join(work, 'render.wasm'));
  const programId = await putContent(api, alice, render);
  const t0 = Date.now();
  const sceneId = await putData(data, { path: scene });
  console.log(`scene ${idText(sceneId)} put in ${Date.now() - t0} ms`);
  assert.ok(sceneId.length >= SCENE_BYTES);
  const { job } = await submitJob(api, alice, {
    program: programId, kind: { Render: { width: 1024, height: 704, tile: 1024, frames: 1 } },
    inputs: [sceneId], replication: { initial: 2, max: 4, quorum: 2, adaptive: false },
    pricePerFuel: 1, fuelCap: 15_000_000_000,
  });
  const done = await waitJob(api, job, (p) => console.log(`big render job ${job}: #${p.block} ${p.verified}/${p.tasks}`), 840_000);
  console.log(`big render job done in ${Date.now() - t0} ms`);
  assert.equal(done.status, 'Completed');
  const ts = await tasks(api, job, 1);
  const tiles = [];
  for (const t of ts) tiles.push(await taskOutput(api, data, t));
  assert.ok(tiles[0].length > api.consts.content.maxBlobSize.toNumber(), `a ${tiles[0].length}-byte output, over the on-chain blob limit, was delivered`);
  execFileSync(TASKS_BIN, ['render', small, path.join(work, 'native.rgb')]);
  assert.ok(assemble(1024, 704, tiles).equals(readFileSync(path.join(work, 'native.rgb'))), 'equals the native render byte for byte');
  const after = await stateSize();
  console.log(`chain state: ${before} bytes before, ${after} after (scene ${sceneId.length} bytes)`);
  assert.ok(after - before < MiB, `the job added ${after - before} bytes of state`);
  assert.ok(after < 64 * MiB, `chain state is ${after} bytes`);
  rmSync(scene);
});

test('a map-reduce word count over 1 GiB of text travels off chain and equals the native count', { timeout: 1_500_000 }, async () => {
  // 32 splits of 32 MiB (a map task costs ~100 fuel a byte, ~3.4·10⁹ of the chain's 15·10⁹ cap), each whole copies of a public-domain book (then cut at a line end):
  // the expected count is computed natively from the splits' contents.
  const book = readFileSync(path.join(root, 'tests/data/alice.txt'));
  const splitBytes = TEXT_BYTES / SPLITS;
  const copies = Math.floor(splitBytes / book.length);
  const tail = book.subarray(0, book.lastIndexOf(10, splitBytes - copies * book.length - 1) + 1);
  const unit = Buffer.concat([...Array(copies).fill(book), tail]);
  const before = await stateSize();
  const mapWasm = readFileSync(path.join(work, 'wordcount_map.wasm'));
  const mapId = await putContent(api, alice, mapWasm);
  const reduceId = await putContent(api, alice, readFileSync(path.join(work, 'wordcount_reduce.wasm')));
  const inputs = [];
  let total = 0;
  const t0 = Date.now();
  for (let i = 0; i < SPLITS; i++) {
    // Splits differ by a first line naming them, so they are all different ids.
    const file = path.join(work, `split-${i}.txt`);
    const head = Buffer.from(`split ${i} of ${SPLITS}\n`);
    writeFileSync(file, Buffer.concat([head, unit]));
    inputs.push(await putData(data, { path: file }));
    total += head.length + unit.length;
    rmSync(file);
  }
  console.log(`${SPLITS} splits, ${total} bytes, put in ${Date.now() - t0} ms`);
  assert.ok(total >= TEXT_BYTES - SPLITS * book.length);
  const reducers = 4;
  const { job } = await submitJob(api, alice, {
    program: mapId, kind: { MapReduce: { reduceProgram: reduceId, reducers } }, inputs,
    replication: { initial: 2, max: 4, quorum: 2, adaptive: false }, pricePerFuel: 1, fuelCap: 15_000_000_000,
    deadlineBlocks: 2000,
  });
  const t1 = Date.now();
  const done = await waitJob(api, job, (p) => console.log(`big wordcount job ${job}: #${p.block} ${p.stage} ${p.verified}/${p.tasks}`), 1_440_000);
  console.log(`big wordcount job done in ${Date.now() - t1} ms`);
  assert.equal(done.status, 'Completed');
  const ts = await tasks(api, job, SPLITS + reducers);
  const counts = new Map();
  for (const t of ts.slice(SPLITS)) {
    for (const line of (await taskOutput(api, data, t)).toString().split('\n').filter(Boolean)) {
      const [w, c] = line.split('\t');
      assert.ok(!counts.has(w), `word ${w} in two partitions`);
      counts.set(w, Number(c));
    }
  }
  // Native: the book's count × copies, plus the partial copy and the split headers.
  const unitFile = path.join(work, 'unit.txt');
  writeFileSync(unitFile, unit);
  const headsFile = path.join(work, 'heads.txt');
  writeFileSync(headsFile, Array.from({ length: SPLITS }, (_, i) => `split ${i} of ${SPLITS}\n`).join(''));
  const native = new Map();
  const add = (file, times) => {
    for (const l of execFileSync(TASKS_BIN, ['wordcount', file], { maxBuffer: 64 * MiB }).toString().split('\n').filter(Boolean)) {
      const [w, c] = l.split('\t');
      native.set(w, (native.get(w) ?? 0) + Number(c) * times);
    }
  };
  add(unitFile, SPLITS);
  add(headsFile, 1);
  assert.equal(counts.size, native.size);
  for (const [w, c] of native) assert.equal(counts.get(w), c, `count of ${w}`);
  const after = await stateSize();
  console.log(`chain state: ${before} bytes before, ${after} after (${total} bytes of input)`);
  assert.ok(after - before < MiB, `the job added ${after - before} bytes of state`);
});
