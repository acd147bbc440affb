// Gravity load test: many provider accounts driven by this script against a real node.
//
//   node tests/load/load.mjs ws://127.0.0.1:9944 [--providers 96] [--blocks 40] [--out FILE]
//
// The node is a normal `gravity-node --dev` (started by `scripts/load-test.sh`). The script:
//  1. funds and registers N provider accounts (no node each: the script signs for them), takes
//     the genesis providers offline (they run no provider service here), and stores an identity
//     program (the task's output is its input) on chain; the 1,024 small inputs stay off chain
//     (the simulated providers hold them), as job data does;
//  2. keeps the market fed with jobs of 1,024 tasks (adaptive replication: 2 replicas that must
//     agree until a provider has earned trust, then one replica with 10 % spot checks);
//  3. acts for every provider on what each block's events ask of it, one `market.batch` per
//     provider per block: commit on `ReplicaAssigned`, reveal on `RevealPhaseStarted`, deliver
//     on `TaskAgreed` (naming the output's content id; outputs stay off chain);
//  4. sends one balance transfer per block from a user account, to check that user
//     transactions are still included;
//  5. reports per block: verified tasks, extrinsics, block weight by class (the mandatory
//     class is `on_initialize` of every pallet plus the timestamp inherent) and whether the
//     transfer was included; then a summary over the steady-state blocks.
//
// The providers do run the program (in V8, to get its output), but report a fixed fuel: the
// chain only compares replicas with each other. This measures the chain, not the sandbox.
import { ApiPromise, WsProvider, Keyring } from '@polkadot/api';
import { blake2AsU8a, cryptoWaitReady } from '@polkadot/util-crypto';
import { u8aToHex, u8aConcat, hexToU8a } from '@polkadot/util';
import { blake3 } from '@noble/hashes/blake3';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';

const args = process.argv.slice(2);
const ws = args.find((a) => a.startsWith('ws')) ?? 'ws://127.0.0.1:9944';
const opt = (name, dflt) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : dflt; };
const PROVIDERS = Number(opt('providers', 96));
const MEASURE_BLOCKS = Number(opt('blocks', 40));
const OUT = opt('out', null);
const TASKS_PER_JOB = 1024;
const UNIT = 10n ** 12n;
const FUEL = 100_000n; // reported by every replica
const FUEL_CAP = 1_000_000n;
const PRICE = 1_000_000n; // plancks per fuel: a task pays 0.1 GRAV (one reputation unit), worth ≤ 1 GRAV
const QUEUE_TARGET = 3_000; // keep at least this many replicas queued (a job adds 2 per task)

const log = (...a) => console.log(new Date().toISOString().slice(11, 19), ...a);
const le = (n, bytes) => { const b = new Uint8Array(bytes); let v = BigInt(n); for (let i = 0; i < bytes; i++) { b[i] = Number(v & 0xffn); v >>= 8n; } return b; };
const enc = (s) => new TextEncoder().encode(s);

// The identity program: copies its input's data (after the 4-byte param) to its output.
// (module (import "gravity" "input_len" …) (import "gravity" "input_read" …)
//  (import "gravity" "output_write" …) (memory (export "memory") 1)
//  (func (export "run") (result i32) (local i32) …))
function identityProgram() {
  const str = (s) => [s.length, ...enc(s)];
  const section = (id, bytes) => [id, ...uleb(bytes.length), ...bytes];
  const uleb = (n) => { const o = []; do { let b = n & 0x7f; n >>>= 7; if (n) b |= 0x80; o.push(b); } while (n); return o; };
  const I32 = 0x7f;
  const types = [3, 0x60, 0, 1, I32, 0x60, 3, I32, I32, I32, 1, I32, 0x60, 2, I32, I32, 1, I32];
  const imports = [3, ...str('gravity'), ...str('input_len'), 0, 0, ...str('gravity'), ...str('input_read'), 0, 1,
    ...str('gravity'), ...str('output_write'), 0, 2];
  const funcs = [1, 0];
  const memory = [1, 0, 1];
  const exports = [2, ...str('memory'), 2, 0, ...str('run'), 0, 3];
  const body = [1, 1, I32, // one i32 local
    0x10, 0, 0x21, 0, // n = input_len()
    0x41, 0, 0x41, 4, 0x20, 0, 0x41, 4, 0x6b, 0x10, 1, 0x1a, // input_read(0, 4, n - 4)
    0x41, 0, 0x20, 0, 0x41, 4, 0x6b, 0x10, 2, 0x1a, // output_write(0, n - 4)
    0x41, 0, 0x0b]; // 0
  const code = [1, ...uleb(body.length), ...body];
  return new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...section(1, types), ...section(2, imports),
    ...section(3, funcs), ...section(5, memory), ...section(7, exports), ...section(10, code)]);
}

/** Run the program in V8 on `param ‖ data`, as a provider node passes it; returns the output. */
function runProgram(module, data) {
  const input = u8aConcat(le(0, 4), data);
  let mem; const out = [];
  const inst = new WebAssembly.Instance(module, { gravity: {
    input_len: () => input.length,
    input_read: (ptr, off, len) => { const s = input.subarray(off, off + len); new Uint8Array(mem.buffer).set(s, ptr); return s.length; },
    output_write: (ptr, len) => { out.push(new Uint8Array(mem.buffer).slice(ptr, ptr + len)); return 0; },
  } });
  mem = inst.exports.memory;
  if (inst.exports.run() !== 0) throw new Error('program failed');
  return u8aConcat(...out);
}

/** Content id (BLAKE3 + size), as the chain and the data plane compute it. */
const contentId = (bytes) => ({ root: u8aToHex(blake3(bytes)), length: bytes.length });
const digestOf = (output, job, task, round) => blake2AsU8a(u8aConcat(enc('gravity/result'), hexToU8a(output.root), le(output.length, 8), le(FUEL, 8), le(job, 8), le(task, 4), [round]), 256);
const commitmentOf = (digest, provider, job, task, salt) => blake2AsU8a(u8aConcat(digest, le(FUEL, 8), provider, le(job, 8), le(task, 4), salt), 256);

async function main() {
  await cryptoWaitReady();
  const api = await ApiPromise.create({ provider: new WsProvider(ws), noInitWarn: true });
  // Addresses in the chain's own SS58 format, as the events print them.
  const keyring = new Keyring({ type: 'sr25519', ss58Format: api.registry.chainSS58 });
  const alice = keyring.addFromUri('//Alice');
  const user = keyring.addFromUri('//Bob');
  const providers = Array.from({ length: PROVIDERS }, (_, i) => keyring.addFromUri(`//gravity-load/${i}`));
  const byAddress = new Map(providers.map((p) => [p.address, p]));
  const nonces = new Map();
  const nextNonce = async (pair) => {
    if (!nonces.has(pair.address)) nonces.set(pair.address, (await api.rpc.system.accountNextIndex(pair.address)).toNumber());
    const n = nonces.get(pair.address); nonces.set(pair.address, n + 1); return n;
  };
  const submit = async (tx, pair) => {
    const signed = await tx.signAsync(pair, { nonce: await nextNonce(pair), era: 0, blockHash: api.genesisHash });
    return api.rpc.author.submitExtrinsic(signed).catch((e) => log(`submit failed for ${pair.address.slice(0, 8)}: ${e.message}`));
  };
  const waitBlocks = (n) => new Promise((resolve) => { let seen = 0; let unsub; api.rpc.chain.subscribeNewHeads(() => { if (++seen >= n) { unsub?.(); resolve(); } }).then((u) => (unsub = u)); });

  // 1. Setup.
  const program = identityProgram();
  const module = new WebAssembly.Module(program);
  const inputs = Array.from({ length: TASKS_PER_JOB }, (_, i) => enc(`gravity load-test input ${i} `.padEnd(64, '.')));
  const inputIds = inputs.map(contentId);
  const outputIds = inputs.map((b) => contentId(runProgram(module, b)));
  if (outputIds.some((o, i) => o.root !== inputIds[i].root)) throw new Error('the identity program must return its input');
  log(`setup: ${PROVIDERS} providers, program ${program.length} bytes`);
  const transfers = providers.map((p) => api.tx.balances.transferKeepAlive(p.address, 1_000n * UNIT));
  for (const t of transfers) await submit(t, alice);
  for (const name of ['//Charlie', '//Dave', '//Eve']) await submit(api.tx.providers.goOffline(), keyring.addFromUri(name));
  await waitBlocks(2);
  const caps = { device: 'Server', arch: 'X86_64', cores: 16, memoryMib: 65536, gpuModel: '', gpuScore: 0, bandwidthMbps: 1000, region: 'LOAD', maxConcurrent: 64 };
  for (const p of providers) await submit(api.tx.providers.register(caps, 100n * UNIT), p);
  const programId = contentId(program);
  const have = await api.query.content.blobs(programId);
  if (have.isNone) await submit(api.tx.content.put(u8aToHex(program)), alice);
  await waitBlocks(3);
  const registered = (await api.query.providers.providerCount()).toNumber();
  log(`providers registered: ${registered}`);

  // 2–4. The loop.
  const replicas = new Map(); // `${job}/${task}` -> [{ provider, round, salt, digest, revealed }]
  const pending = new Map(); // address -> actions
  const act = (address, action) => { if (!pending.has(address)) pending.set(address, []); pending.get(address).push(action); };
  const jobs = new Set();
  let submittedJobs = 0;
  const rows = [];
  const failures = new Map();
  const maxBlock = api.consts.system.blockWeights.maxBlock.refTime.toBigInt();
  const maxActions = api.consts.market.maxBatchActions.toNumber();
  let startBlock = null;
  let lastBest = 0;

  const onBlock = async (header) => {
    const number = header.number.toNumber();
    if (number <= lastBest) return; // a re-org or a repeat: act once per height
    lastBest = number;
    const hash = header.hash;
    const [events, weight, block, queueHead, queueTail] = await Promise.all([
      api.query.system.events.at(hash), api.query.system.blockWeight.at(hash), api.rpc.chain.getBlock(hash),
      api.query.market.queueHead.at(hash), api.query.market.queueTail.at(hash),
    ]);
    let verified = 0; let transfer = false; let failed = 0;
    for (const { event } of events) {
      if (event.section === 'balances' && event.method === 'Transfer' && event.data.from.toString() === user.address) transfer = true;
      if (event.section !== 'market') continue;
      const d = event.data;
      switch (event.method) {
        case 'JobSubmitted': jobs.add(d.job.toNumber()); break;
        case 'ReplicaAssigned': {
          const provider = byAddress.get(d.provider.toString());
          if (!provider) break;
          const job = d.job.toNumber(); const task = d.task.toNumber(); const round = d.round.toNumber();
          const salt = randomBytes(32);
          const digest = digestOf(outputIds[task % TASKS_PER_JOB], job, task, round);
          const key = `${job}/${task}`;
          if (!replicas.has(key)) replicas.set(key, []);
          replicas.get(key).push({ provider, round, salt, digest, revealed: false });
          act(provider.address, { Commit: { job, task, commitment: commitmentOf(digest, provider.publicKey, job, task, salt) } });
          break;
        }
        case 'RevealPhaseStarted': {
          const job = d.job.toNumber(); const task = d.task.toNumber();
          for (const r of replicas.get(`${job}/${task}`) ?? []) {
            if (r.revealed) continue;
            r.revealed = true;
            act(r.provider.address, { Reveal: { job, task, digest: r.digest, fuelUsed: FUEL, salt: r.salt } });
          }
          break;
        }
        case 'TaskAgreed': {
          const job = d.job.toNumber(); const task = d.task.toNumber();
          const rs = replicas.get(`${job}/${task}`);
          if (rs?.length) act(rs[0].provider.address, { Deliver: { job, task, output: outputIds[task % TASKS_PER_JOB] } });
          break;
        }
        case 'TaskVerified': verified++; replicas.delete(`${d.job}/${d.task}`); break;
        case 'TaskFailed': log(`task failed: ${d.toString()}`); break;
        case 'BatchActionFailed': {
          failed++;
          const err = d.error.isModule ? api.registry.findMetaError(d.error.asModule).name : d.error.toString();
          failures.set(err, (failures.get(err) ?? 0) + 1);
          break;
        }
        case 'JobFinished': jobs.delete(d.job.toNumber()); break;
        default: break;
      }
    }
    const w = weight.toJSON();
    const ref = (c) => BigInt(w[c].refTime);
    const total = ref('normal') + ref('operational') + ref('mandatory');
    const queued = Number(queueTail.toBigInt() - queueHead.toBigInt());
    const row = { block: number, verified, extrinsics: block.block.extrinsics.length, queued,
      fullness: Number((total * 10000n) / maxBlock) / 100, normalMs: Number(ref('normal') / 1_000_000_000n),
      mandatoryMs: Number(ref('mandatory') / 1_000_000_000n), transfer, failed };
    if (startBlock !== null) rows.push(row);
    log(`#${number} verified ${verified} ext ${row.extrinsics} queued ${queued} full ${row.fullness}% normal ${row.normalMs} ms mandatory ${row.mandatoryMs} ms transfer ${transfer}${failed ? ` failed ${failed}` : ''}`);

    // Send this block's work: one batch (or more, if over the batch limit) per provider.
    for (const [address, actions] of pending) {
      for (let i = 0; i < actions.length; i += maxActions) await submit(api.tx.market.batch(actions.slice(i, i + maxActions)), byAddress.get(address));
    }
    pending.clear();
    await submit(api.tx.balances.transferKeepAlive(keyring.addFromUri('//Ferdie').address, UNIT), user);
    // Keep the market fed.
    if (queued < QUEUE_TARGET && jobs.size < 12) {
      const deadline = number + 300;
      const tx = api.tx.market.submitJob({
        program: programId, source: null, kind: 'Batch', inputs: inputIds,
        requirements: { arch: 'Any', minMemoryMib: 0, gpu: false, minReputation: 0 },
        replication: { initial: 2, max: 4, quorum: 2, adaptive: true }, pricePerFuel: PRICE, fuelCap: FUEL_CAP, deadline,
      });
      await submit(tx, alice);
      submittedJobs++;
    }
  };

  let busy = Promise.resolve();
  const unsub = await api.rpc.chain.subscribeNewHeads((h) => { busy = busy.then(() => onBlock(h)).catch((e) => log(`block handler: ${e.stack}`)); });
  // Warm up until verification runs at a steady rate, then measure MEASURE_BLOCKS blocks.
  const warm = await new Promise((resolve) => {
    const started = Date.now();
    const timer = setInterval(async () => {
      const trusted = await Promise.all(providers.slice(0, 8).map((p) => api.query.providers.reputations(p.address)));
      const work = (r) => { const v = r.isSome === undefined ? r : r.isSome ? r.unwrap() : null; return v ? Number(v.trustedWork.toBigInt() / 1000n) : 0; };
      const minWork = Math.min(...trusted.map(work));
      if (minWork >= 20 || Date.now() - started > 15 * 60_000) { clearInterval(timer); resolve(minWork); }
    }, 6_000);
  });
  log(`warm-up done (trusted work of the first providers ≥ ${warm}); measuring ${MEASURE_BLOCKS} blocks`);
  await waitBlocks(3);
  startBlock = lastBest;
  await waitBlocks(MEASURE_BLOCKS);
  unsub();
  await busy;
  const m = rows.slice(0, MEASURE_BLOCKS);
  const sum = (f) => m.reduce((a, r) => a + f(r), 0);
  const summary = {
    blocks: m.length, from: m[0]?.block, to: m.at(-1)?.block, providers: registered, jobsSubmitted: submittedJobs,
    verifiedPerBlock: { mean: sum((r) => r.verified) / m.length, min: Math.min(...m.map((r) => r.verified)), max: Math.max(...m.map((r) => r.verified)) },
    // Work arrives in jobs of 1,024 tasks and moves through the stages in waves: the lowest
    // mean over any 5 consecutive blocks shows what is sustained.
    verifiedPer5BlocksMinMean: Math.min(...m.slice(4).map((_, i) => m.slice(i, i + 5).reduce((a, r) => a + r.verified, 0) / 5)),
    fullnessPercent: { mean: sum((r) => r.fullness) / m.length, max: Math.max(...m.map((r) => r.fullness)) },
    mandatoryMsMax: Math.max(...m.map((r) => r.mandatoryMs)), normalMsMax: Math.max(...m.map((r) => r.normalMs)),
    transferInEveryBlock: m.every((r) => r.transfer), blocksWithoutTransfer: m.filter((r) => !r.transfer).map((r) => r.block),
    batchActionFailures: Object.fromEntries(failures),
  };
  console.log(JSON.stringify(summary, null, 2));
  if (OUT) writeFileSync(OUT, JSON.stringify({ summary, rows }, null, 2));
  await api.disconnect();
  process.exit(0);
}

main().catch((e) => { console.error(e); process.exit(1); });
