// Submit a render job as a plain extrinsic with @polkadot/api, no helpers: store the program on
// chain, put the scene into the node's content store (its data RPC), sign market.submitJob.
//   node examples/submit-job.mjs <render.wasm> <scene> [ws://127.0.0.1:9944] [ws://127.0.0.1:9955]
// Prints the job id. (`gravity-tasks export-programs <dir>` writes render.wasm.)
import { ApiPromise, WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';
import { base58Decode, cryptoWaitReady } from '@polkadot/util-crypto';
import { u8aToHex } from '@polkadot/util';
import { readFileSync } from 'node:fs';
import { blake3 } from '@noble/hashes/blake3';

const [programPath, scenePath, url = 'ws://127.0.0.1:9944', dataUrl = 'ws://127.0.0.1:9955'] = process.argv.slice(2);
if (!programPath || !scenePath) {
  console.error('usage: node examples/submit-job.mjs <render.wasm> <scene> [rpc-url] [data-rpc-url]');
  process.exit(2);
}
await cryptoWaitReady();
const api = await ApiPromise.create({ provider: new WsProvider(url), noInitWarn: true });
const alice = new Keyring({ type: 'sr25519', ss58Format: 7007 }).addFromUri('//Alice');

/** Sign and send; resolve with the events once in a block, reject with the dispatch error. */
const send = (tx) => new Promise((resolve, reject) => {
  tx.signAndSend(alice, ({ status, events, dispatchError }) => {
    if (dispatchError) {
      const d = dispatchError.isModule ? api.registry.findMetaError(dispatchError.asModule) : null;
      reject(new Error(d ? `${d.section}.${d.name}: ${d.docs.join(' ')}` : dispatchError.toString()));
    } else if (status.isInBlock) resolve(events);
  }).catch(reject);
});

// 1. The program on chain, under its content id { root: blake3(bytes), length }, unless Alice
//    holds it already.
const program = readFileSync(programPath);
const programId = { root: u8aToHex(blake3(program)), length: program.length };
if ((await api.query.content.holders(programId, alice.address)).isNone) await send(api.tx.content.put(u8aToHex(program)));
// 2. The scene into the node's content store (off chain) through its data RPC.
const data = new WsProvider(dataUrl);
await data.isReady;
const sceneText = readFileSync(scenePath);
const sceneId = (await data.send('gravity_put', [u8aToHex(sceneText)])).split(':');
await data.disconnect();
// 3. market.submitJob(spec): one JobSpec. `source` is the peer id of the node holding the scene,
//    as bytes (system_localPeerId is base58).
const [, w, h] = sceneText.toString().match(/^size\s+(\d+)\s+(\d+)/m).map(Number);
const [, tile] = sceneText.toString().match(/^tile\s+(\d+)/m).map(Number);
const header = await api.rpc.chain.getHeader();
const spec = {
  program: programId,
  source: u8aToHex(base58Decode((await api.rpc.system.localPeerId()).toString())),
  kind: { Render: { width: w, height: h, tile, frames: 1 } },
  inputs: [{ root: `0x${sceneId[0]}`, length: Number(sceneId[1]) }],
  requirements: { arch: 'Any', minMemoryMib: 0, gpu: false, minReputation: 0 },
  replication: { initial: 2, max: 4, quorum: 2, adaptive: false },
  pricePerFuel: 1000, fuelCap: 2_000_000_000, deadline: header.number.toNumber() + 400,
};
const events = await send(api.tx.market.submitJob(spec));
const submitted = events.find(({ event }) => api.events.market.JobSubmitted.is(event));
console.log(submitted.event.data.job.toString());
await api.disconnect();
