// Attacks on honest providers through the chain's own levers, on real nodes (1 validator + 3
// provider nodes): a program whose fuel is not time, and blocks kept full through commit
// windows. Each test fails on the code before those fixes: the bomb job's replicas ran into
// their commit deadline and were slashed as no-shows; the block filler outranked every provider
// duty, which were then no-shows too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Keyring } from '@polkadot/keyring';
import { compactAddLength } from '@polkadot/util';
import { useNetwork } from './lib/network.js';
import { randomBytes } from 'node:crypto';
import { putContent, putData, submitJob, waitJob, eventsBetween, send, contentId, resultDigest, commitmentOf, idOf } from '../../clients/js/gravity.mjs';

const root = path.resolve(import.meta.dirname, '..', '..');
let net;
let api;
let data;
let alice;
const work = useNetwork('gravity-attacks-', (started) => ({ net, api, data, alice } = started));
const keyring = () => new Keyring({ type: 'sr25519', ss58Format: 7007 });

/**
 * `(module (memory (export "memory") 1) (func (export "run") (result i32) (loop (br 0)) (i32.const 0)))`:
 * a plain spin, within every structural limit, that burns fuel at the slowest rate wasmtime has
 * (about 59 s for the chain's largest fuel cap, `max_fuel_cap`, on this machine).
 */
const SPIN = Buffer.from(
  '0061736d01000000' + // magic, version
  '010501600001' + '7f' + // type: () -> i32
  '03020100' + // one function of type 0
  '0503010001' + // memory: min 1 page
  '071002066d656d6f727902000372756e0000' + // exports: memory, run
  '0a0b010900' + '03400c000b' + '41000b', // code: loop br 0 end; i32.const 0
  'hex',
);

/**
 * A `Bytes` argument from raw bytes. (polkadot.js reads a bare Uint8Array given for `Bytes` as
 * already SCALE-encoded, length prefix first: zeros become an empty argument.)
 */
const bytes = (raw) => compactAddLength(raw);

/** Events of a section/method between two blocks. */
const named = (events, section, method) => events.filter(({ event }) => event.section === section && event.method === method);

/** Submit a small honest render job (6 tiles, 2 replicas each). */
async function submitRender() {
  const scene = readFileSync(path.join(root, 'tasks/render/scenes/demo.scene'), 'utf8')
    .replace(/^size .*$/m, 'size 144 96').replace(/^tile .*$/m, 'tile 48');
  const program = await putContent(api, alice, readFileSync(path.join(work, 'render.wasm')));
  const sceneId = await putData(data, Buffer.from(scene));
  const { job } = await submitJob(api, alice, {
    program, kind: { Render: { width: 144, height: 96, tile: 48, frames: 1 } },
    inputs: [sceneId], replication: { initial: 2, max: 4, quorum: 2, adaptive: false },
    pricePerFuel: 1n, fuelCap: 2_000_000_000,
  });
  return job;
}

/** Wait for a job to end, logging its progress. */
const finished = (job, label) => waitJob(api, job, (p) => console.log(`${label} job ${job}: #${p.block} ${p.status} ${p.verified}/${p.tasks}`), 300_000);

/** Sign and send with options (a tip); resolves with { events } once in a block. */
function sendWith(tx, signer, options) {
  return new Promise((resolve, reject) => {
    tx.signAndSend(signer, options, ({ status, events, dispatchError }) => {
      if (dispatchError) reject(new Error(dispatchError.toString()));
      else if (status.isInBlock) resolve({ events, blockHash: status.asInBlock });
      else if (status.isInvalid || status.isDropped || status.isUsurped) reject(new Error(`transaction ${status.type}`));
    }).catch(reject);
  });
}

/** Resolves once `n` new blocks have reached `bytes` in length. */
function fullBlocks(n, bytes) {
  return new Promise((resolve) => {
    let seen = 0;
    api.rpc.chain.subscribeNewHeads(async (h) => {
      const block = await api.rpc.chain.getBlock(h.hash);
      if (block.block.extrinsics.reduce((s, x) => s + x.encodedLength, 0) >= bytes && ++seen === n) resolve();
    }).then((u) => setTimeout(() => u(), 300_000));
  });
}

test('each provider node declares on chain the number of tasks it runs (genesis declared 8, the nodes run 2)', { timeout: 120_000 }, async () => {
  const declared = async () => (await api.query.providers.providers.entries())
    .map(([, info]) => info.unwrap().capabilities.maxConcurrent.toNumber());
  const deadline = Date.now() + 90_000;
  let now = await declared();
  while (!(now.length === 3 && now.every((n) => n === 2)) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 3_000));
    now = await declared();
  }
  assert.deepEqual(now, [2, 2, 2], 'every provider lowered its declared max_concurrent to --provider-max-tasks');
});

test('a job of spinning tasks at MaxFuelCap: every replica is aborted by its time limit and declined or released, nobody is slashed, and the providers go on serving an honest job', { timeout: 600_000 }, async () => {
  const maxFuel = (await api.query.market.configuration()).maxFuelCap.toBigInt();
  const programId = await putContent(api, alice, SPIN);
  const from = (await api.rpc.chain.getHeader()).number.toNumber() + 1;
  // 3 tasks of two replicas each: six spinning replicas, two per provider node (each runs 2 at
  // a time), as in the attack that slashed all six honest one-replica tasks (one-replica
  // policies are refused now: `FragileReplication`).
  const inputs = [];
  for (let i = 0; i < 3; i++) inputs.push(await putData(data, Buffer.from(`spin ${i} ${Date.now()}`)));
  const { job } = await submitJob(api, alice, {
    program: programId, kind: 'Batch', inputs,
    replication: { initial: 2, max: 4, quorum: 2, adaptive: false }, pricePerFuel: 1n, fuelCap: maxFuel,
  });
  const done = await waitJob(api, job, (p) => console.log(`spin job ${job}: #${p.block} ${p.status} failed ${p.failed}/${p.tasks}`), 400_000);
  const to = (await api.rpc.chain.getHeader(done.blockHash)).number.toNumber();
  const events = await eventsBetween(api, from, to);
  const mine = (list) => list.filter(({ event }) => event.data.job?.toNumber?.() === job);
  assert.equal(named(events, 'providers', 'Slashed').length, 0, 'no provider was slashed');
  assert.equal(mine(named(events, 'market', 'ProviderPenalized')).length, 0, 'no replica was penalized');
  const declined = mine(named(events, 'market', 'ReplicaDeclined'));
  // A run that uses up its fuel before its time limit (a quiet, fast machine: 15·10⁹ fuel of
  // `loop br 0` in under the run's deadline) ends with the deterministic `OutOfFuel` result,
  // which is honest and may be committed; a run that does not is aborted and declined. Every
  // replica takes one of the two roads (what must never happen is a penalty or a slash): on a
  // loaded 2-core machine most are declined, on a quiet one all may commit `OutOfFuel`.
  const committed = mine(named(events, 'market', 'Committed')).length;
  console.log(`spin job: ${committed} commits, ${declined.length} declines`);
  assert.ok(declined.length >= 1 || committed >= 6,
    `every replica was either aborted by its time limit and declined, or committed its OutOfFuel result (${committed} commits, ${declined.length} declines)`);
  // Declined replicas are replaced until the policy's maximum or the providers run out; then the
  // task fails. A task whose two replicas both committed the `OutOfFuel` result is verified
  // with it (and paid: the work was done). Every replica ended declined, released or agreed.
  assert.ok(['Failed', 'Completed'].includes(done.status), done.status);
  const at = await api.at(done.blockHash);
  const outcomes = [];
  for (let t = 0; t < 3; t++) {
    const task = (await at.query.market.tasks(job, t)).unwrap();
    for (const r of task.replicas) outcomes.push(r.outcome.isSome ? r.outcome.unwrap().type : 'Open');
  }
  console.log(`spin job replicas: ${outcomes.join(', ')} (${declined.length} declined)`);
  assert.ok(outcomes.length >= 6 && outcomes.every((o) => ['Declined', 'Released', 'Agreed'].includes(o)), `replica outcomes: ${outcomes}`);
  // The same providers then serve an honest job.
  const honest = await finished(await submitRender(), 'after the spin job');
  assert.equal(honest.status, 'Completed');
});

test('a filler keeps every block full through commit windows: duties still get in, nobody is slashed, the job completes, and a transfer gets in at a higher fee', { timeout: 600_000 }, async () => {
  const ferdie = keyring().addFromUri('//Ferdie');
  const bob = keyring().addFromUri('//Bob');
  // An oversize put is refused before inclusion (its data does not decode): it takes no block
  // space and costs nothing. (From an account of its own: a refused transaction must not hold
  // up the filler's or the transfer's nonces.)
  const oversizer = keyring().addFromUri('//Ferdie//stash');
  const maxBlob = api.consts.content.maxBlobSize.toNumber();
  const before = await api.query.system.account(oversizer.address);
  const outcome = await new Promise((resolve) => {
    const timer = setTimeout(() => resolve('not included within 4 blocks'), 4 * 6_000 + 2_000);
    const done = (what) => { clearTimeout(timer); resolve(what); };
    api.tx.content.put(bytes(new Uint8Array(maxBlob + 1).fill(7))).signAndSend(oversizer, ({ status }) => {
      if (status.isInBlock) done('included');
      else if (status.isInvalid || status.isDropped || status.isUsurped) done(status.type);
    }).catch((e) => done(`refused: ${e.message}`));
  });
  console.log(`a put of MaxBlobSize + 1 bytes: ${outcome}`);
  assert.notEqual(outcome, 'included', 'a put over MaxBlobSize never reaches a block');
  const after = await api.query.system.account(oversizer.address);
  assert.equal(after.nonce.toNumber(), before.nonce.toNumber(), 'the oversize put was not executed');
  assert.equal(after.data.free.toBigInt(), before.data.free.toBigInt(), 'the oversize put cost nothing');
  // Fee of a transfer before the filler.
  const transfer = () => api.tx.balances.transferKeepAlive(ferdie.address, 1_000_000_000_000n);
  const baseFee = (await transfer().paymentInfo(bob)).partialFee.toBigInt();
  // The filler: system.remark transactions sized to the Normal share of a block, tipped to
  // outrank every ordinary transaction, one ready for every block.
  const normalMax = api.consts.system.blockLength.max.normal.toNumber();
  const probe = api.tx.system.remark(new Uint8Array(0));
  await probe.signAsync(ferdie, { nonce: 0 });
  // Room left for the header and digests (counted in the block's length) and the inherents.
  const size = normalMax - probe.encodedLength - 1024;
  let nonce = (await api.rpc.system.accountNextIndex(ferdie.address)).toNumber();
  let filling = true;
  let sent = 0;
  const inFlight = new Set();
  const fill = async () => {
    while (filling && inFlight.size < 2) {
      const n = nonce++;
      inFlight.add(n);
      sent++;
      api.tx.system.remark(bytes(new Uint8Array(size).fill(n & 0xff))).signAndSend(ferdie, { nonce: n, tip: 100_000n }, ({ status }) => {
        if (status.isInBlock || status.isInvalid || status.isDropped || status.isUsurped) inFlight.delete(n);
      }).catch(() => inFlight.delete(n));
    }
  };
  // The job is submitted first (its requester's own transactions would need a tip to outrank
  // the filler, like the transfer below); its replicas are assigned in the next block, and
  // every commit, reveal and delivery happens while the filler runs.
  const from = (await api.rpc.chain.getHeader()).number.toNumber() + 1;
  const job = await submitRender();
  const unsub = await api.rpc.chain.subscribeNewHeads(() => { fill(); });
  await fill();
  try {
    // Once blocks are full, a transfer: in with a tip above the filler's priority, at a fee
    // that has risen with congestion.
    await fullBlocks(2, normalMax * 0.9);
    const t = await sendWith(transfer(), bob, { tip: 1_000n }).catch((e) => e);
    const done = await finished(job, 'under the filler');
    const to = (await api.rpc.chain.getHeader(done.blockHash)).number.toNumber();
    filling = false;
    const events = await eventsBetween(api, from, to);
    assert.equal(named(events, 'providers', 'Slashed').length, 0, 'no provider was slashed');
    assert.equal(named(events, 'market', 'ProviderPenalized').filter(({ event }) => event.data.job.toNumber() === job).length, 0);
    assert.equal(done.status, 'Completed');
    // The filler did fill blocks: count the blocks whose length reached 90 % of the Normal share.
    let full = 0;
    for (let b = from; b <= to; b++) {
      const block = await api.rpc.chain.getBlock(await api.rpc.chain.getBlockHash(b));
      if (block.block.extrinsics.reduce((s, x) => s + x.encodedLength, 0) >= normalMax * 0.9) full++;
    }
    console.log(`filler: ${sent} remarks of ${size} bytes sent; ${full} of ${to - from + 1} blocks full by length`);
    assert.ok(full >= 5, `the filler kept blocks full (${full} full blocks)`);
    // The transfer got in, and paid more than before the filler: fees rise with congestion.
    assert.ok(!(t instanceof Error), `the transfer got in: ${t}`);
    const fee = named(t.events, 'transactionPayment', 'TransactionFeePaid')[0].event.data.actualFee.toBigInt();
    const multiplier = (await api.query.transactionPayment.nextFeeMultiplier()).toString();
    console.log(`transfer fee: ${baseFee} before the filler, ${fee} under it (tip 1000); multiplier now ${multiplier}`);
    assert.ok(fee > baseFee + 1_000n, 'a transfer pays more under congestion');
  } finally {
    filling = false;
    unsub();
  }
});

/**
 * Two provider identities of one owner, run from here as a cheat would run them: wherever either
 * is drawn it seals and reveals one made-up output with the same fuel (so the two agree with each
 * other), and names that output for delivery if its round agreed on it. Returns the two accounts
 * and `stop()`.
 */
async function sybilPair(junk, fuel) {
  const k = keyring();
  const pair = [k.addFromUri('//Sybil//1'), k.addFromUri('//Sybil//2')];
  const unit = 10n ** BigInt(api.registry.chainDecimals[0]);
  // The capabilities the honest nodes declared: the pair is drawn for the same jobs.
  const [, honestInfo] = (await api.query.providers.providers.entries())[0];
  const caps = { ...honestInfo.unwrap().capabilities.toJSON(), maxConcurrent: 8 };
  for (const p of pair) {
    await send(api, api.tx.balances.transferKeepAlive(p.address, 300n * unit), alice);
    await send(api, api.tx.providers.register(caps, 200n * unit), p);
  }
  const salts = new Map();
  const sent = new Set();
  // Several calls of one account in one block: each its own nonce (the pool's next index does
  // not count what this loop sent a moment ago).
  const nonces = new Map();
  const once = async (key, make, signer) => {
    if (sent.has(key)) return;
    sent.add(key);
    const pooled = (await api.rpc.system.accountNextIndex(signer.address)).toNumber();
    const nonce = Math.max(nonces.get(signer.address) ?? 0, pooled);
    nonces.set(signer.address, nonce + 1);
    make().signAndSend(signer, { nonce }).catch((e) => console.log(`sybil ${key}: ${e.message}`));
  };
  let busy = false;
  const unsub = await api.rpc.chain.subscribeNewHeads(async () => {
    if (busy) return;
    busy = true;
    try {
      for (const p of pair) {
        for (const [job, t] of (await api.query.market.providerTasks(p.address)).open.map((e) => [e[0].toNumber(), e[1].toNumber()])) {
          const task = (await api.query.market.tasks(job, t)).unwrap();
          const me = task.replicas.find((r) => r.provider.toString() === p.address && r.outcome.isNone);
          if (!me) continue;
          const round = me.round.toNumber();
          const digest = resultDigest(junk, fuel, job, t, round);
          const key = `${p.address}/${job}/${t}/${round}`;
          if (task.phase.isCommitting && me.commitment.isNone) {
            const salt = randomBytes(32);
            salts.set(key, salt);
            await once(`${key}/commit`, () => api.tx.market.commit(job, t, commitmentOf(digest, fuel, p.address, job, t, salt)), p);
          } else if (task.phase.isRevealing && me.commitment.isSome && me.reveal.isNone && salts.has(key)) {
            await once(`${key}/reveal`, () => api.tx.market.reveal(job, t, digest, fuel, salts.get(key)), p);
          } else if (task.phase.isDelivering && task.agreed.isSome && task.agreed.unwrap()[0].toHex() === digest) {
            await once(`${key}/deliver`, () => api.tx.market.deliver(job, t, junk), p);
          }
        }
      }
    } finally {
      busy = false;
    }
  });
  return { accounts: pair.map((p) => p.address), stop: () => unsub() };
}

// Opt-in (GRAVITY_E2E_SYBIL=1): it passed alone on a quiet machine (2 min), but in the full CI
// run its first job stalled for 420 s: on this network of 3 two-slot nodes, disputed tasks keep
// their round-0 honest replicas open (holding node slots) while their fresh rounds wait for a free
// node, so a few disputes at once can hold every slot until `max_placement_wait` (30 min) fails them.
// Nobody loses money then, but the job does not finish; see the market README, *Disputes*.
test('a Sybil pair that outvotes an honest provider 2–1 loses the dispute: the honest output is verified, the honest provider paid and never slashed, the pair slashed and never paid', { timeout: 900_000, skip: process.env.GRAVITY_E2E_SYBIL !== '1' && 'opt-in: GRAVITY_E2E_SYBIL=1 (stalls under load, see the comment above)' }, async () => {
  const junk = contentId(Buffer.from('a made-up output nobody can fetch'));
  const fuel = 1_000_000n;
  const sybils = await sybilPair(junk, fuel);
  const isSybil = (who) => sybils.accounts.includes(who.toString());
  const scene = readFileSync(path.join(root, 'tasks/render/scenes/demo.scene'), 'utf8')
    .replace(/^size .*$/m, 'size 144 96').replace(/^tile .*$/m, 'tile 48');
  const program = await putContent(api, alice, readFileSync(path.join(work, 'render.wasm')));
  const sceneId = await putData(data, Buffer.from(scene));
  // Jobs of 3 tiles at {3,3,2} (each drawn from the 3 honest nodes and the pair) until a task had
  // the pair and one honest node in its first round: the 2–1 the attack needs.
  let pairTasks = 0;
  let disputes = 0;
  for (let attempt = 0; attempt < 4 && pairTasks === 0; attempt++) {
    const from = (await api.rpc.chain.getHeader()).number.toNumber() + 1;
    const { job } = await submitJob(api, alice, {
      program, kind: { Render: { width: 144, height: 48, tile: 48, frames: 1 } },
      inputs: [sceneId], replication: { initial: 3, max: 3, quorum: 2, adaptive: false },
      pricePerFuel: 1n, fuelCap: 2_000_000_000,
    });
    const done = await waitJob(api, job, (p) => console.log(`sybil job ${job}: #${p.block} ${p.status} ${p.verified}+${p.failed}/${p.tasks}`), 420_000);
    const to = (await api.rpc.chain.getHeader(done.blockHash)).number.toNumber();
    const events = (await eventsBetween(api, from, to)).filter(({ event }) => event.data.job?.toNumber?.() === job);
    const at = await api.at(done.blockHash);
    for (let t = 0; t < 3; t++) {
      const task = (await at.query.market.tasks(job, t)).unwrap();
      const round0 = task.replicas.filter((r) => r.round.toNumber() === 0);
      const inPair = round0.filter((r) => isSybil(r.provider)).length;
      const outcomes = task.replicas.map((r) => `${r.provider.toString().slice(0, 6)}:${r.round}:${r.outcome.isSome ? r.outcome.unwrap().type : 'Open'}`);
      console.log(`job ${job} task ${t}: ${task.phase.type}, pair in round 0: ${inPair}, escalation ${task.escalation}: ${outcomes.join(' ')}`);
      if (task.escalation.toNumber() > 0) disputes++;
      // Never the attack's outcome: the made-up output verified.
      if (task.result.isSome) assert.notEqual(idOf(task.result.unwrap()[0]).root, junk.root, `task ${t} verified the made-up output`);
      for (const r of task.replicas) {
        if (isSybil(r.provider)) {
          assert.equal(r.paid.toBigInt(), 0n, 'a Sybil was paid');
        } else {
          assert.equal(r.slashed.toBigInt(), 0n, `honest ${r.provider} slashed in task ${t}`);
          if (task.phase.isVerified && r.reveal.isSome) assert.equal(r.outcome.unwrap().type, 'Agreed');
        }
      }
      if (inPair === 2 && round0.length === 3) {
        pairTasks++;
        assert.ok(task.escalation.toNumber() > 0, `task ${t}: the 2–1 was disputed`);
        if (task.phase.isVerified) {
          for (const r of round0) {
            // (A Sybil whose transaction came too late is a no-show: slashed all the same.)
            if (isSybil(r.provider)) {
              assert.ok(['Dissented', 'NoShow'].includes(r.outcome.unwrap().type), r.outcome.toString());
              assert.ok(r.slashed.toBigInt() > 0n, 'the pair was slashed');
            } else {
              assert.equal(r.outcome.unwrap().type, 'Agreed');
            }
          }
        }
      }
    }
    const honestPenalties = events.filter(({ event }) => event.section === 'market' && event.method === 'ProviderPenalized' && !isSybil(event.data.provider));
    assert.equal(honestPenalties.length, 0, 'no honest provider was penalized');
    assert.ok(events.every(({ event }) => !(event.section === 'market' && event.method === 'ProviderPaid' && isSybil(event.data.provider))), 'no Sybil was paid');
  }
  sybils.stop();
  console.log(`sybil pair: ${pairTasks} tasks with the pair and one honest node in round 0, ${disputes} disputes`);
  assert.ok(pairTasks >= 1, 'the draw put the pair beside one honest node at least once in 4 jobs');
});
