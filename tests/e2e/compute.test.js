// End to end, real processes: 1 validator + 3 provider nodes run a render job and a map-reduce
// word count; results are compared with native runs; escrow and audit records are checked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Keyring } from '@polkadot/keyring';
import { useNetwork, TASKS_BIN } from './lib/network.js';
import { send, putContent, putData, submitJob, waitJob, tasks, taskOutput, getContentViaApi, contentId, assemble, eventsBetween, resultDigest } from '../../clients/js/gravity.mjs';
import { compactToU8a, u8aConcat } from '@polkadot/util';

const root = path.resolve(import.meta.dirname, '..', '..');
const PRICE = 1n;
/** The runtime's protocol fee on every payment: 5 % (Perbill floor). */
const feeOf = (value) => (value * 5n) / 100n;
let net;
let api;
let data;
let alice;
const work = useNetwork('gravity-compute-', (started) => ({ net, api, data, alice } = started));

/** Free + held balance of `who` at block `hash`. */
const total = async (who, hash) => { const a = await api.query.system.account.at(hash, who); return a.data.free.toBigInt() + a.data.reserved.toBigInt(); };

/** Check escrow settlement and audit records of a finished job. */
async function checkSettlement(job, fromBlock, toHash, balancesBefore, ts) {
  const toBlock = (await api.rpc.chain.getHeader(toHash)).number.toNumber();
  const events = await eventsBetween(api, fromBlock, toBlock);
  const of = (name) => events.filter(({ event }) => event.section === 'market' && event.method === name);
  const paid = new Map();
  let protocolFees = 0n;
  for (const { event } of of('ProviderPaid')) {
    if (event.data.job.toNumber() !== job) continue;
    const who = event.data.provider.toString();
    paid.set(who, (paid.get(who) ?? 0n) + event.data.amount.toBigInt());
    protocolFees += event.data.fee.toBigInt();
  }
  const fees = new Map();
  for (const { event } of events.filter(({ event }) => event.section === 'transactionPayment' && event.method === 'TransactionFeePaid')) {
    const who = event.data.who.toString();
    fees.set(who, (fees.get(who) ?? 0n) + event.data.actualFee.toBigInt());
  }
  const slashedTo = new Map();
  for (const { event } of events.filter(({ event }) => event.section === 'providers' && event.method === 'Slashed')) {
    const who = event.data.provider.toString();
    slashedTo.set(who, (slashedTo.get(who) ?? 0n) + event.data.amount.toBigInt());
  }
  const j = (await api.query.market.jobs(job)).unwrap();
  const sumPaid = [...paid.values()].reduce((a, b) => a + b, 0n) + protocolFees;
  assert.equal(j.escrow.paid.toBigInt(), sumPaid, 'escrow.paid = sum of ProviderPaid amounts and protocol fees');
  assert.equal(j.escrow.locked.toBigInt(), j.escrow.paid.toBigInt() + j.escrow.refunded.toBigInt(), 'locked = paid + refunded after the job');
  // Requester: its balance changed by exactly payments + its fees (slashes never reach it).
  const requester = alice.address;
  const dReq = balancesBefore.get(requester) - (await total(requester, toHash));
  assert.equal(dReq, sumPaid + (fees.get(requester) ?? 0n), 'requester balance change = payments + fees');
  assert.equal(j.escrow.queueDeposit.toBigInt(), 0n, 'the queue deposit is returned when the job ends');
  // Providers: rose by exactly their payments, less their own transaction fees and slashes.
  for (const [who, before] of balancesBefore) {
    if (who === requester) continue;
    const d = (await total(who, toHash)) - before;
    assert.equal(d, (paid.get(who) ?? 0n) - (fees.get(who) ?? 0n) - (slashedTo.get(who) ?? 0n), `provider ${who} balance change`);
  }
  // Audit records: every task verified, with each agreeing replica's commitment, reveal (the
  // digest of the delivered output for its round) and pay (less the protocol fee).
  ts.forEach((t, index) => {
    assert.equal(t.phase.type, 'Verified');
    const [out, fuel] = t.result.unwrap();
    const agreeing = t.replicas.filter((r) => r.outcome.unwrap().type === 'Agreed');
    assert.ok(agreeing.length >= 2, 'quorum of 2');
    for (const r of agreeing) {
      assert.ok(r.commitment.isSome && r.committedAt.isSome);
      const rv = r.reveal.unwrap();
      assert.equal(rv.digest.toHex(), resultDigest(out, fuel.toBigInt(), job, index, r.round.toNumber()));
      const value = fuel.toBigInt() * PRICE;
      assert.equal(r.paid.toBigInt(), value - feeOf(value));
    }
  });
  assert.equal(of('TaskVerified').filter(({ event }) => event.data.job.toNumber() === job).length, ts.length);
  assert.ok(of('JobFinished').some(({ event }) => event.data.job.toNumber() === job));
}

/** Job data stayed off chain: no blob on chain has the hash of any of `ids` (inputs, outputs). */
async function noJobDataOnChain(ids) {
  const hex = (id) => (id.root.toHex ? id.root.toHex() : id.root);
  const onChain = new Set((await api.query.content.blobs.keys()).map((k) => k.args[0].root.toHex()));
  for (const id of ids) assert.ok(!onChain.has(hex(id)), `job data ${hex(id)} is not on chain`);
}

/** Balances at the best block, and the number of the first block after it. */
async function snapshot() {
  const head = await api.rpc.chain.getHeader();
  const m = new Map();
  const keyring = new Keyring({ type: 'sr25519', ss58Format: 7007 });
  for (const s of ['//Alice', '//Charlie', '//Dave', '//Eve']) {
    const a = keyring.addFromUri(s).address;
    m.set(a, await total(a, head.hash));
  }
  return { balances: m, from: head.number.toNumber() + 1 };
}

test('a 24-tile render job with 2 replicas completes and equals the native render', { timeout: 600_000 }, async () => {
  const scene = readFileSync(path.join(root, 'tasks/render/scenes/demo.scene'));
  const render = readFileSync(path.join(work, 'render.wasm'));
  const programId = await putContent(api, alice, render);
  // The scene goes into Alice's node's content store, not on chain: providers fetch it from there.
  const sceneId = await putData(data, scene);
  assert.deepEqual(sceneId, contentId(scene), 'the data plane names bytes as the chain would');
  const { balances: before, from } = await snapshot();
  const { job } = await submitJob(api, alice, {
    program: programId, kind: { Render: { width: 256, height: 192, tile: 48, frames: 1 } },
    inputs: [sceneId], replication: { initial: 2, max: 4, quorum: 2, adaptive: false },
    pricePerFuel: PRICE, fuelCap: 2_000_000_000,
  });
  const done = await waitJob(api, job, (p) => console.log(`render job ${job}: #${p.block} ${p.verified}/${p.tasks}`));
  assert.equal(done.status, 'Completed');
  assert.equal(done.tasks, 24);
  const ts = await tasks(api, job, 24);
  // Every tile is fetched over the data plane from the providers that computed it.
  const tiles = [];
  for (const t of ts) tiles.push(await taskOutput(api, data, t));
  await noJobDataOnChain([contentId(scene), ...ts.map((t) => t.result.unwrap()[0])]);
  const img = assemble(256, 192, tiles);
  execFileSync(TASKS_BIN, ['render', path.join(root, 'tasks/render/scenes/demo.scene'), path.join(work, 'native.rgb')]);
  assert.ok(img.equals(readFileSync(path.join(work, 'native.rgb'))), 'network render equals native render byte for byte');
  await checkSettlement(job, from, done.blockHash, before, ts);
});

test('a map-reduce word count over a public-domain book equals the native count', { timeout: 600_000 }, async () => {
  const text = readFileSync(path.join(root, 'tests/data/alice.txt'), 'utf8');
  // Four map inputs split at line boundaries.
  const lines = text.split('\n');
  const chunks = [0, 1, 2, 3].map((i) => lines.slice(Math.floor((i * lines.length) / 4), Math.floor(((i + 1) * lines.length) / 4)).join('\n'));
  const mapWasm = readFileSync(path.join(work, 'wordcount_map.wasm'));
  const mapId = await putContent(api, alice, mapWasm);
  const reduceId = await putContent(api, alice, readFileSync(path.join(work, 'wordcount_reduce.wasm')));
  const inputs = [];
  for (const c of chunks) inputs.push(await putData(data, Buffer.from(c)));
  const { balances: before, from } = await snapshot();
  const { job } = await submitJob(api, alice, {
    program: mapId, kind: { MapReduce: { reduceProgram: reduceId, reducers: 2 } }, inputs,
    replication: { initial: 2, max: 4, quorum: 2, adaptive: false }, pricePerFuel: PRICE, fuelCap: 2_000_000_000,
  });
  const done = await waitJob(api, job, (p) => console.log(`wordcount job ${job}: #${p.block} ${p.stage} ${p.verified}/${p.tasks}`));
  assert.equal(done.status, 'Completed');
  assert.equal(done.tasks, 6);
  const ts = await tasks(api, job, 6);
  const outs = [];
  for (const t of ts.slice(4)) outs.push(await taskOutput(api, data, t));
  await noJobDataOnChain([...inputs, ...ts.map((t) => t.result.unwrap()[0])]);
  const counts = new Map();
  for (const o of outs) for (const line of Buffer.from(o).toString().split('\n').filter(Boolean)) {
    const [w, c] = line.split('\t');
    assert.ok(!counts.has(w), `word ${w} in two partitions`);
    counts.set(w, Number(c));
  }
  const native = new Map(execFileSync(TASKS_BIN, ['wordcount', path.join(root, 'tests/data/alice.txt')]).toString().split('\n').filter(Boolean).map((l) => { const [w, c] = l.split('\t'); return [w, Number(c)]; }));
  assert.equal(counts.size, native.size);
  for (const [w, c] of native) assert.equal(counts.get(w), c, `count of ${w}`);
  await checkSettlement(job, from, done.blockHash, before, ts);
});

test('every runtime API read through api.call (MarketApi, ProvidersApi, ContentApi) equals storage and constants', { timeout: 300_000 }, async () => {
  const keyring = new Keyring({ type: 'sr25519', ss58Format: 7007 });
  const providers = ['//Charlie', '//Dave', '//Eve'].map((s) => keyring.addFromUri(s).address);
  // ContentApi: a stored blob decodes to Some(bytes) equal to storage; a missing id to None.
  const blob = Buffer.from(`runtime api check ${Date.now()} `.repeat(8));
  const blobId = await putContent(api, alice, blob);
  const head = (await api.rpc.chain.getHeader()).hash;
  const at = await api.at(head);
  const got = await at.call.contentApi.get(blobId);
  assert.ok(got.isSome, 'a stored blob is Some');
  assert.deepEqual(Buffer.from(got.unwrap().bytes.toU8a(true)), blob, 'ContentApi.get = the stored bytes, nothing in front');
  assert.deepEqual(Buffer.from(await getContentViaApi(api, blobId, head)), blob);
  assert.equal(got.unwrap().bytes.toHex(), (await at.query.content.blobs(blobId)).unwrap().toHex(), 'ContentApi.get = Blobs storage');
  // The result is the SCALE encoding of Some(Blob { bytes }): 0x01, compact length, bytes.
  assert.deepEqual(got.toU8a(), u8aConcat([1], compactToU8a(blob.length), blob));
  const missing = contentId(Buffer.from('no such blob'));
  assert.ok((await at.call.contentApi.get(missing)).isNone, 'a missing blob is None');
  assert.equal(await getContentViaApi(api, missing, head), null);

  // A small render job; while providers hold replicas, compare every market and providers API.
  const scene = readFileSync(path.join(root, 'tasks/render/scenes/demo.scene'), 'utf8')
    .replace(/^size .*$/m, 'size 96 48').replace(/^tile .*$/m, 'tile 48');
  const render = readFileSync(path.join(work, 'render.wasm'));
  const programId = await putContent(api, alice, render);
  const sceneId = await putData(data, Buffer.from(scene));
  const { job } = await submitJob(api, alice, {
    program: programId, kind: { Render: { width: 96, height: 48, tile: 48, frames: 1 } },
    inputs: [sceneId], replication: { initial: 2, max: 4, quorum: 2, adaptive: false },
    pricePerFuel: PRICE, fuelCap: 2_000_000_000,
  });
  const json = (v) => JSON.parse(JSON.stringify(v.toJSON()));
  let sawAssignments = 0;
  const checkAt = async (hash) => {
    const a = await api.at(hash);
    const j = await a.query.market.jobs(job);
    assert.deepEqual(json(await a.call.marketApi.job(job)), json(j), 'MarketApi.job = Jobs storage');
    const n = j.unwrap().tasks.toNumber();
    const results = [];
    for (let t = 0; t < n; t++) {
      const stored = await a.query.market.tasks(job, t);
      assert.deepEqual(json(await a.call.marketApi.task(job, t)), json(stored), `MarketApi.task(${job}, ${t}) = Tasks storage`);
      results.push(stored.unwrap().result);
    }
    assert.ok((await a.call.marketApi.task(job, n)).isNone, 'a task past the end is None');
    assert.ok((await a.call.marketApi.job(4_000_000_000)).isNone, 'an unknown job is None');
    assert.deepEqual(json(await a.call.marketApi.outputs(job)), results.map(json), 'MarketApi.outputs = the tasks\' results');
    // The intervals provider nodes pace themselves by come from the chain's configuration.
    assert.deepEqual(json(await a.call.marketApi.windows()), json((await a.query.market.configuration()).windows),
      'MarketApi.windows = the configured windows');
    assert.equal((await a.call.providersApi.heartbeatTimeout()).toNumber(), api.consts.providers.heartbeatTimeout.toNumber(), 'ProvidersApi.heartbeatTimeout');
    const now = (await a.query.system.number()).toNumber();
    const decay = api.consts.providers.decayPeriod.toNumber();
    for (const p of providers) {
      const held = (await a.query.market.providerTasks(p)).open;
      const expected = [];
      for (const [jj, tt] of held) expected.push([jj.toNumber(), tt.toNumber(), json(await a.query.market.tasks(jj, tt))]);
      const calls = (await a.call.marketApi.assignments(p)).map(([jj, tt, task]) => [jj.toNumber(), tt.toNumber(), json(task)]);
      assert.deepEqual(calls, expected, `MarketApi.assignments(${p}) = ProviderTasks + Tasks`);
      sawAssignments += calls.length;
      assert.deepEqual(json(await a.call.providersApi.provider(p)), json(await a.query.providers.providers(p)), 'ProvidersApi.provider = Providers storage');
      const [score, rep] = await a.call.providersApi.reputation(p);
      const stored = await a.query.providers.reputations(p);
      for (const k of ['lifetimeAgreed', 'lifetimeDissented', 'lifetimeNoShow']) assert.equal(rep[k].toNumber(), stored[k].toNumber(), k);
      if (now - stored.updatedAt.toNumber() < decay) {
        assert.deepEqual(json(rep), json(stored), 'reputation within one decay period = storage');
      } else {
        assert.ok(rep.successes.toBigInt() <= stored.successes.toBigInt() && rep.failures.toBigInt() <= stored.failures.toBigInt(), 'decay only lowers');
      }
      // The score is the Beta mean (s + 1)/(s + f + 2) of the returned counters (×1000), in Perbill.
      const s = rep.successes.toBigInt(); const f = rep.failures.toBigInt();
      const expectScore = ((s + 1000n) * 1_000_000_000n) / (s + f + 2000n);
      assert.ok(Math.abs(Number(score.toBigInt() - expectScore)) <= 1, `score ${score} of ${s}/${f}`);
    }
    return j.unwrap();
  };
  const done = await new Promise((resolve, reject) => {
    let unsub;
    let busy = false;
    const timer = setTimeout(() => { unsub?.(); reject(new Error('job not finished within 240 s')); }, 240_000);
    api.rpc.chain.subscribeNewHeads(async (h) => {
      if (busy) return; // checks of one block at a time; later blocks are checked when free
      busy = true;
      try {
        const j = await checkAt(h.hash);
        if (j.status.type !== 'Active') { clearTimeout(timer); unsub?.(); resolve(j); }
      } catch (e) { clearTimeout(timer); unsub?.(); reject(e); } finally { busy = false; }
    }).then((u) => (unsub = u));
  });
  assert.equal(done.status.type, 'Completed');
  assert.ok(sawAssignments > 0, 'the check ran while providers held replicas');
});

test('an input nobody holds: providers give up at the decline point and decline instead of becoming no-shows; nobody is slashed, the job fails and is refunded', { timeout: 300_000 }, async () => {
  const render = readFileSync(path.join(work, 'render.wasm'));
  const programId = await putContent(api, alice, render);
  // The id of bytes that were never put anywhere.
  const missing = contentId(Buffer.from(`never stored ${Date.now()}`));
  const { balances: before, from } = await snapshot();
  const { job } = await submitJob(api, alice, {
    program: programId, kind: 'Batch', inputs: [missing],
    replication: { initial: 2, max: 4, quorum: 2, adaptive: false }, pricePerFuel: PRICE, fuelCap: 1_000_000,
  });
  const done = await waitJob(api, job, (p) => console.log(`missing-input job ${job}: #${p.block} ${p.status} failed ${p.failed}`), 240_000);
  assert.equal(done.status, 'Failed');
  const toBlock = (await api.rpc.chain.getHeader(done.blockHash)).number.toNumber();
  const events = await eventsBetween(api, from, toBlock);
  const declined = events.filter(({ event }) => event.section === 'market' && event.method === 'ReplicaDeclined' && event.data.job.toNumber() === job);
  // Each provider that cannot fetch the input declines and is replaced while the policy has room
  // and a provider is left who has not had the task; then the task fails (too few replicas, or
  // nobody left to place one with) and any replica still open is released without judgement.
  assert.ok(declined.length >= 2, `providers declined (${declined.length})`);
  const failed = events.filter(({ event }) => event.section === 'market' && event.method === 'TaskFailed' && event.data.job.toNumber() === job);
  console.log(`missing-input job: ${declined.length} declines, failed: ${failed.map(({ event }) => event.data.reason.type)}`);
  assert.ok(!events.some(({ event }) => event.section === 'providers' && event.method === 'Slashed'), 'nobody was slashed');
  // Providers that give up at the same block decline one after another (two blocks apart): the
  // first decline fails the task and releases the other replica, whose provider then sends
  // nothing. No call fails (a failed call would cost its honest sender a fee).
  for (const { block, event, phase } of events.filter(({ event }) => event.section === 'system' && event.method === 'ExtrinsicFailed')) {
    const signed = await api.rpc.chain.getBlock(await api.rpc.chain.getBlockHash(block));
    const xt = signed.block.extrinsics[phase.asApplyExtrinsic.toNumber()];
    assert.fail(`${xt.method.section}.${xt.method.method} failed in #${block}: ${JSON.stringify(event.data.toHuman())}`);
  }
  // The providers paid no fee (a valid decline is free) and the requester got everything back
  // but its transaction fee.
  const fees = new Map();
  for (const { event } of events.filter(({ event }) => event.section === 'transactionPayment' && event.method === 'TransactionFeePaid')) {
    fees.set(event.data.who.toString(), (fees.get(event.data.who.toString()) ?? 0n) + event.data.actualFee.toBigInt());
  }
  // Nobody could run the task (no replica committed): the declines do not count against the
  // providers, and the requester forfeits the task's share of its queue deposit (initial
  // replicas × queue_deposit) to the treasury, not to the decliners (who could farm it).
  const forfeited = events.filter(({ event }) => event.section === 'market' && event.method === 'DepositForfeited' && event.data.job.toNumber() === job)
    .reduce((sum, { event }) => sum + event.data.amount.toBigInt(), 0n);
  assert.equal(forfeited, 2n * (await api.query.market.configuration()).queueDeposit.toBigInt(), 'the requester forfeits the task\'s queue deposit');
  assert.ok(!events.some(({ event }) => event.section === 'market' && event.method === 'DeclineCounted'), 'no decline was counted against a provider');
  for (const [who, bal] of before) {
    const d = (await total(who, done.blockHash)) - bal;
    if (who === alice.address) assert.equal(d, -(fees.get(who) ?? 0n) - forfeited, 'the requester lost its fee and the forfeited deposit, nothing else');
    else assert.equal(d, -(fees.get(who) ?? 0n), `provider ${who} changed only by fees it chose to pay (heartbeats)`);
  }
});

test('a provider that crashes after committing resumes on restart: reveals what it committed, never commits twice', { timeout: 600_000 }, async () => {
  const keyring = new Keyring({ type: 'sr25519', ss58Format: 7007 });
  const eve = keyring.addFromUri('//Eve').address;
  // 6 tiles, every one replicated on all three providers: Eve holds a replica of each.
  const scene = readFileSync(path.join(root, 'tasks/render/scenes/demo.scene'), 'utf8')
    .replace(/^size .*$/m, 'size 144 96').replace(/^tile .*$/m, 'tile 48');
  const render = readFileSync(path.join(work, 'render.wasm'));
  const programId = await putContent(api, alice, render);
  const sceneId = await putData(data, Buffer.from(scene));
  const from = (await api.rpc.chain.getHeader()).number.toNumber() + 1;
  const { job } = await submitJob(api, alice, {
    program: programId, kind: { Render: { width: 144, height: 96, tile: 48, frames: 1 } },
    inputs: [sceneId], replication: { initial: 3, max: 3, quorum: 2, adaptive: false },
    pricePerFuel: PRICE, fuelCap: 2_000_000_000,
  });
  // Crash Eve as soon as one of her commitments is in a block.
  const crashedAfter = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('Eve committed nothing within 120 s')), 120_000);
    let unsub;
    api.query.system.events((evs) => {
      const c = evs.find(({ event }) => event.section === 'market' && event.method === 'Committed'
        && event.data.job.toNumber() === job && event.data.provider.toString() === eve);
      if (c) { clearTimeout(t); unsub?.(); resolve(c.event.data.task.toNumber()); }
    }).then((u) => { unsub = u; });
  });
  await net.crash('eve');
  console.log(`Eve crashed after committing task ${crashedAfter} of job ${job}; restarting`);
  net.restart('eve');
  const done = await waitJob(api, job, (p) => console.log(`restart job ${job}: #${p.block} ${p.verified}/${p.tasks}`));
  assert.equal(done.status, 'Completed');
  const ts = await tasks(api, job, 6);
  const toBlock = (await api.rpc.chain.getHeader(done.blockHash)).number.toNumber();
  const events = await eventsBetween(api, from, toBlock);
  const eveEvents = (name) => events.filter(({ event }) => event.section === 'market' && event.method === name
    && event.data.job.toNumber() === job && event.data.provider.toString() === eve);
  // Resumed: the task committed before the crash was revealed after it, with a matching reveal.
  const mine = ts[crashedAfter].replicas.find((r) => r.provider.toString() === eve);
  assert.ok(mine.reveal.isSome, 'the replica committed before the crash was revealed after the restart');
  assert.equal(mine.outcome.unwrap().type, 'Agreed');
  // Never twice: at most one commitment and one reveal per task.
  for (const name of ['Committed', 'Revealed']) {
    const per = new Map();
    for (const { event } of eveEvents(name)) per.set(event.data.task.toNumber(), (per.get(event.data.task.toNumber()) ?? 0) + 1);
    for (const [task, n] of per) assert.equal(n, 1, `Eve ${name} task ${task} ${n} times`);
  }
  // No market call of Eve failed (a second commit or a reveal of a salt it did not commit would).
  // (A delivery, and its output upload, may fail when another agreeing replica delivered first.)
  for (const { block, event, phase } of events.filter(({ event }) => event.section === 'system' && event.method === 'ExtrinsicFailed')) {
    const signed = await api.rpc.chain.getBlock(await api.rpc.chain.getBlockHash(block));
    const xt = signed.block.extrinsics[phase.asApplyExtrinsic.toNumber()];
    const what = `${xt.method.section}.${xt.method.method}`;
    assert.ok(xt.signer.toString() !== eve || xt.method.section !== 'market' || xt.method.method === 'deliver', `a market call of Eve failed at #${block}: ${what}`);
  }
  for (const t of ts) assert.equal(t.phase.type, 'Verified');
});

test('governance: root reconfigures the market (windows, fee); providers follow the new windows, payments the new fee; others and out-of-bounds records are refused', { timeout: 300_000 }, async () => {
  const before = await api.query.market.configuration();
  const json = (v) => JSON.parse(JSON.stringify(v.toJSON()));
  const sudid = (events) => events.find(({ event }) => event.section === 'sudo' && event.method === 'Sudid').event.data.sudoResult;
  // Not root: refused, nothing changes.
  await assert.rejects(send(api, api.tx.market.configure(before), alice), /BadOrigin/);
  // Root with a commit window below its minimum: the named error, nothing changes.
  const tooShort = { ...json(before), windows: { ...json(before).windows, commit: 3 } };
  const refused = await send(api, api.tx.sudo.sudo(api.tx.market.configure(tooShort)), alice);
  const err = sudid(refused.events).asErr;
  assert.equal(api.registry.findMetaError(err.asModule).name, 'WindowTooShort');
  assert.deepEqual(json(await api.query.market.configuration()), json(before));
  // Root with a longer commit window and a 10 % fee.
  const next = { ...json(before), windows: { ...json(before).windows, commit: json(before).windows.commit + 4 }, protocolFee: 100_000_000 };
  const set = await send(api, api.tx.sudo.sudo(api.tx.market.configure(next)), alice);
  assert.ok(sudid(set.events).isOk);
  assert.ok(set.events.some(({ event }) => event.section === 'market' && event.method === 'ConfigurationSet'), 'ConfigurationSet announced');
  assert.equal((await api.call.marketApi.windows()).commit.toNumber(), next.windows.commit, 'the runtime API reads the new window');
  try {
    const scene = readFileSync(path.join(root, 'tasks/render/scenes/demo.scene'), 'utf8')
      .replace(/^size .*$/m, 'size 96 48').replace(/^tile .*$/m, 'tile 48');
    const programId = await putContent(api, alice, readFileSync(path.join(work, 'render.wasm')));
    const sceneId = await putData(data, Buffer.from(scene));
    const { job } = await submitJob(api, alice, {
      program: programId, kind: { Render: { width: 96, height: 48, tile: 48, frames: 1 } },
      inputs: [sceneId], replication: { initial: 2, max: 4, quorum: 2, adaptive: false },
      pricePerFuel: PRICE, fuelCap: 2_000_000_000,
    });
    const done = await waitJob(api, job, (p) => console.log(`reconfigured job ${job}: #${p.block} ${p.status} verified ${p.verified}`), 240_000);
    assert.equal(done.status, 'Completed');
    for (const t of await tasks(api, job, 2)) {
      for (const r of t.replicas.filter((x) => x.outcome.isSome && x.outcome.unwrap().type === 'Agreed')) {
        assert.equal(r.commitDeadline.toNumber() - r.assignedAt.toNumber(), next.windows.commit, 'the commit deadline uses the new window');
        const value = t.result.unwrap()[1].toBigInt() * PRICE;
        assert.equal(r.paid.toBigInt(), value - (value * 10n) / 100n, 'the provider is paid less the new 10 % fee');
      }
    }
  } finally {
    // Put the configuration back for the tests that follow.
    const back = await send(api, api.tx.sudo.sudo(api.tx.market.configure(before)), alice);
    assert.ok(sudid(back.events).isOk);
  }
});
