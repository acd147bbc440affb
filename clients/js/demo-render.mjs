// Demo: render a scene on the Gravity network and write the image as a PNG.
//   node clients/js/demo-render.mjs [--rpc ws://127.0.0.1:9944] [--out gravity-render.png] [--scene file]
// Needs a running network with provider nodes (scripts/local-network.sh) and the task programs
// (exported by `gravity-tasks export-programs`, which this script runs; scripts/build.sh builds it).
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { connect, connectData, DEFAULT_DATA_RPC, putContent, putData, submitJob, waitJob, tasks, taskOutput, idText, assemble, png, DEFAULT_REPLICATION } from './gravity.mjs';

/** The demo's price: 1,000 plancks (10⁻⁹ GRAV) per fuel unit. At this price an honest provider
 * earns more than its transaction fees (offchain-workers/provider/tests/honest_profit.rs). */
const DEMO_PRICE_PER_FUEL = 1_000;

const root = path.resolve(import.meta.dirname, '..', '..');
const USAGE = `usage: node clients/js/demo-render.mjs [options]

Render a scene on a running Gravity network (start one with scripts/local-network.sh --no-demo):
upload the ray-tracer program to the chain and put the scene into the node's content store
(off chain: providers fetch it from the node over the data plane), submit a render job with 2 replicas per tile at 1,000 plancks per fuel unit, print
progress block by block, and write the assembled image as a PNG. Signs as //Alice (dev account).

options:
  --rpc <ws-url>     node to connect to                 (default ws://127.0.0.1:9944)
  --data-rpc <ws-url> that node's data RPC, on this machine (default ws://127.0.0.1:9955;
                     the node runs it when started with --data-rpc-port)
  --out <file.png>   where to write the image           (default gravity-render.png)
  --scene <file>     scene text (format: tasks/render)  (default tasks/render/scenes/demo.scene)
  --frames <n>       render an animation of n frames (the camera orbits by the scene's
                     \`orbit\` degrees per frame); writes <out>-0.png … <out>-(n-1).png
                                                        (default 1: one image at <out>)
  -h, --help         print this help and exit`;

let opts;
try {
  opts = parseArgs({
    options: {
      rpc: { type: 'string', default: 'ws://127.0.0.1:9944' },
      'data-rpc': { type: 'string', default: DEFAULT_DATA_RPC },
      out: { type: 'string', default: 'gravity-render.png' },
      scene: { type: 'string', default: path.join(root, 'tasks/render/scenes/demo.scene') },
      frames: { type: 'string', default: '1' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }).values;
} catch (e) {
  console.error(`demo: ${e.message}\n\n${USAGE}`);
  process.exit(2);
}
if (opts.help) {
  console.log(USAGE);
  process.exit(0);
}
const { rpc, out, scene: scenePath } = opts;
const frames = Number(opts.frames);
if (!Number.isInteger(frames) || frames < 1 || frames > 64) {
  console.error(`demo: --frames must be a whole number from 1 to 64, not '${opts.frames}'\n\n${USAGE}`);
  process.exit(2);
}
const target = process.env.CARGO_TARGET_DIR || path.join(root, 'target');
const tasksBin = path.join(target, 'release', 'gravity-tasks');
if (!existsSync(tasksBin)) {
  console.error(`demo: ${tasksBin} not found: run scripts/build.sh (it builds gravity-node and gravity-tasks)`);
  process.exit(1);
}
if (!existsSync(scenePath)) {
  console.error(`demo: scene file ${scenePath} not found`);
  process.exit(1);
}

await cryptoWaitReady();
const dir = mkdtempSync(path.join(os.tmpdir(), 'gravity-programs-'));
execFileSync(tasksBin, ['export-programs', dir]);
const program = readFileSync(path.join(dir, 'render.wasm'));
const scene = readFileSync(scenePath);
const [, w, h] = scene.toString().match(/^size\s+(\d+)\s+(\d+)/m).map(Number);
const [, tile] = scene.toString().match(/^tile\s+(\d+)/m).map(Number);

const api = await connect(rpc);
let data;
try {
  data = await connectData(opts['data-rpc']);
} catch (e) {
  console.error(`demo: cannot reach the node's data RPC at ${opts['data-rpc']}: start the node with --data-rpc-port (scripts/local-network.sh does) or give --data-rpc`);
  process.exit(1);
}
const alice = new Keyring({ type: 'sr25519', ss58Format: 7007 }).addFromUri('//Alice');
console.log(`demo: uploading the render program (${program.length} bytes) to the chain`);
const programId = await putContent(api, alice, program);
const sceneId = await putData(data, scene);
console.log(`demo: scene (${scene.length} bytes) in the node's content store as ${idText(sceneId)}; providers fetch it from there`);
const { job } = await submitJob(api, alice, {
  program: programId,
  kind: { Render: { width: w, height: h, tile, frames } }, inputs: [sceneId],
  replication: DEFAULT_REPLICATION,
  pricePerFuel: DEMO_PRICE_PER_FUEL, fuelCap: 2_000_000_000,
});
console.log(`demo: job ${job} submitted: ${frames > 1 ? `${frames} frames of ` : ""}${w}x${h} px in ${Math.ceil(w / tile) * Math.ceil(h / tile)} tiles, 2 replicas each, escrow held`);
const done = await waitJob(api, job, (p) => console.log(`demo: block #${p.block}: ${p.verified}/${p.tasks} tiles verified${p.failed ? `, ${p.failed} failed` : ''}`));
if (done.status !== 'Completed') { console.error(`demo: job ended ${done.status}`); process.exit(1); }
const ts = await tasks(api, job, done.tasks);
const perFrame = Math.ceil(w / tile) * Math.ceil(h / tile);
const written = [];
for (let f = 0; f < frames; f++) {
  const tiles = [];
  // Each tile is fetched over the data plane from the providers that computed it.
  for (const t of ts.slice(f * perFrame, (f + 1) * perFrame)) tiles.push(await taskOutput(api, data, t));
  const file = frames === 1 ? out : out.replace(/(\.png)?$/, `-${f}.png`);
  writeFileSync(file, png(w, h, assemble(w, h, tiles)));
  written.push(file);
}
const e = done.job.escrow;
console.log(`demo: done: paid ${e.paid.toString()} plancks to providers, refunded ${e.refunded.toString()}; image${frames > 1 ? 's' : ''} written to ${written.join(', ')}`);
await api.disconnect();
await data.disconnect();
