// A validator joins and leaves a running network, as a newcomer on another machine would:
// a node started from the raw chain spec file alone (its own base path, its own loopback
// address, no --alice, no mDNS, only the spec's boot node) generates session keys bound to its
// account, sets them, bonds, is admitted by the admin (sudo), authors blocks within two
// sessions of admission while GRANDPA keeps finalizing, then leaves.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, createWriteStream, cpSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { u8aConcat, stringToU8a } from '@polkadot/util';
import { NODE_BIN, freePort, until } from './lib/node.js';
import { cliAt } from './lib/cli.js';
import { connect, send } from '../../clients/js/gravity.mjs';
import { rotateKeys, setKeys, register, status, UNIT } from '../../clients/js/validator.mjs';

// The treasury account: PalletId "grav/tsy" ("modl" ‖ id, zero-padded to 32 bytes).
const TREASURY = u8aConcat(stringToU8a('modl'), stringToU8a('grav/tsy'), new Uint8Array(20));

const ALICE_KEY = '0000000000000000000000000000000000000000000000000000000000000001';
const ALICE_PEER = '12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp';

let dir;
let specFile;
let bootnode;
const nodes = [];
let alice; // api on Alice's node (the admin's)
let ferdieApi; // api on the newcomer's own node
let aliceCli; // the `gravity` CLI against Alice's node
let ferdieCli; // … and against the newcomer's own node
let keyring;
const lag = { max: 0, samples: 0 };
let unsubLag;

function start(name, args) {
  const log = createWriteStream(path.join(dir, `${name}.log`), { flags: 'a' });
  const child = spawn(NODE_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const n = { name, child, exited: new Promise((r) => child.on('exit', r)) };
  nodes.push(n);
  return n;
}

before(async () => {
  await cryptoWaitReady();
  keyring = new Keyring({ type: 'sr25519', ss58Format: 7007 });
  dir = mkdtempSync(path.join(os.tmpdir(), 'gravity-validators-'));
  // The published spec: what a newcomer downloads.
  const spec = execFileSync(NODE_BIN, ['export-chain-spec', '--chain', 'dev', '--raw'], { stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20 });
  specFile = path.join(dir, 'spec.json');
  writeFileSync(specFile, spec);
  const p2p = await freePort();
  const rpc = await freePort();
  start('alice', ['--chain', specFile, '--alice', '--validator', '--force-authoring', '--base-path', path.join(dir, 'alice'),
    '--node-key', ALICE_KEY, '--listen-addr', `/ip4/127.0.0.1/tcp/${p2p}`, '--rpc-port', String(rpc),
    '--no-prometheus', '--no-telemetry', '--no-mdns']);
  bootnode = `/ip4/127.0.0.1/tcp/${p2p}/p2p/${ALICE_PEER}`;
  const ferdieRpc = await freePort();
  // A validator's network identity is generated once, before its first start.
  execFileSync(NODE_BIN, ['key', 'generate-node-key', '--chain', specFile, '--base-path', path.join(dir, 'ferdie')], { stdio: 'ignore' });
  // Another "host": its own loopback address, base path and ports; it knows only the boot node.
  start('ferdie', ['--chain', specFile, '--validator', '--base-path', path.join(dir, 'ferdie'),
    '--listen-addr', `/ip4/127.0.0.2/tcp/${await freePort()}`, '--bootnodes', `/ip4/127.0.0.1/tcp/${p2p}/p2p/${ALICE_PEER}`,
    '--rpc-port', String(ferdieRpc), '--no-prometheus', '--no-telemetry', '--no-mdns']);
  // Fail at once, with the node's last words, if a node exits instead of serving RPC.
  const died = Promise.race(nodes.map((n) => n.exited.then((code) => {
    throw new Error(`${n.name} exited (${code}) during start; see ${path.join(dir, n.name + '.log')}`);
  })));
  died.catch(() => {});
  alice = await Promise.race([connect(`ws://127.0.0.1:${rpc}`), died]);
  ferdieApi = await Promise.race([connect(`ws://127.0.0.1:${ferdieRpc}`), died]);
  aliceCli = cliAt(`ws://127.0.0.1:${rpc}`);
  ferdieCli = cliAt(`ws://127.0.0.1:${ferdieRpc}`);
  unsubLag = await alice.rpc.chain.subscribeNewHeads(async (h) => {
    const fin = await alice.rpc.chain.getHeader(await alice.rpc.chain.getFinalizedHead());
    const l = h.number.toNumber() - fin.number.toNumber();
    lag.max = Math.max(lag.max, l);
    lag.samples++;
  });
});

after(async () => {
  unsubLag?.();
  await alice?.disconnect();
  await ferdieApi?.disconnect();
  for (const n of nodes) n.child.kill('SIGINT');
  await Promise.all(nodes.map((n) => Promise.race([n.exited, new Promise((r) => setTimeout(() => { n.child.kill('SIGKILL'); r(); }, 10_000))])));
  if (!process.env.KEEP_LOGS) rmSync(dir, { recursive: true, force: true });
  console.log(`finality lag: max ${lag.max} blocks over ${lag.samples} blocks`);
});

test('bad onboarding input gets named errors: no keys, keys without a proof', { timeout: 120_000 }, async () => {
  const ferdie = keyring.addFromUri('//Ferdie');
  await assert.rejects(register(alice, ferdie, 10_000n * UNIT), /validators\.NoSessionKeys/);
  // Plain author_rotateKeys gives keys but no ownership proof: the session pallet refuses them.
  const keys = await ferdieApi.rpc.author.rotateKeys();
  await assert.rejects(send(alice, alice.tx.session.setKeys(keys, '0x'), ferdie), /session\.InvalidProof/);
  // A proof made for another owner (Alice) does not let Ferdie take the keys.
  const forAlice = await rotateKeys(ferdieApi, keyring.addFromUri('//Alice').address);
  await assert.rejects(setKeys(alice, ferdie, forAlice), /session\.InvalidProof/);
  const st = await status(alice, ferdie.address);
  assert.equal(st.registered, false);
  // The CLI checks before it signs: no keys, a bond under the minimum, nothing to leave.
  await ferdieCli.refused(['validator', 'register', '--bond', '10000', '--suri', '//Ferdie'], /no session keys on chain: run `gravity validator keys/);
  await ferdieCli.refused(['validator', 'register', '--bond', '1', '--suri', '//Ferdie'], /below the chain's minimum validator bond/);
  await ferdieCli.refused(['validator', 'leave', '--suri', '//Ferdie'], /is not registered as a validator/);
  await ferdieCli.refused(['validator', 'withdraw', '--suri', '//Ferdie'], /is not leaving the validator set/);
  await aliceCli.refused(['validator', 'admit', ferdie.address, '--suri', '//Alice'], /is not a candidate/);
  const shown = (await aliceCli.ok(['validator', 'status', ferdie.address])).last;
  assert.equal(shown.registered, false);
  assert.equal(shown.sessionKeys, false);
});

test('a newcomer joins from the spec alone, authors within two sessions, finality holds, then leaves', { timeout: 600_000 }, async () => {
  const ferdie = keyring.addFromUri('//Ferdie');
  // The newcomer's node syncs from the boot node.
  await until('Ferdie to sync', async () => (await ferdieApi.rpc.chain.getHeader()).number.toNumber() >= 3, 120_000);

  // With the `gravity` CLI, as the docs tell a newcomer: keys from Ferdie's own node, bound to
  // Ferdie's account, set on chain; then bond and register.
  const keys = (await ferdieCli.ok(['validator', 'keys', '--suri', '//Ferdie'])).last;
  assert.equal((await alice.query.session.nextKeys(ferdie.address)).unwrap().toHex(), keys.keys, 'the keys the CLI set are on chain');
  const bond = 10_000n * UNIT;
  await ferdieCli.ok(['validator', 'register', '--bond', '10000', '--suri', '//Ferdie']);
  let st = await status(alice, ferdie.address);
  assert.equal(st.status, 'Candidate');
  assert.equal(st.bond, bond);
  const cliSt = (await aliceCli.ok(['validator', 'status', ferdie.address])).last;
  assert.equal(cliSt.status, 'Candidate');
  assert.equal(cliSt.bond, String(bond));
  assert.equal(cliSt.sessionKeys, true);
  await ferdieCli.refused(['validator', 'register', '--bond', '10000', '--suri', '//Ferdie'], /already registered: candidate/);
  // Only the admin admits.
  await aliceCli.refused(['validator', 'admit', ferdie.address, '--suri', '//Bob'], /is not this chain's sudo key/);
  const admittedIn = (await aliceCli.ok(['validator', 'admit', ferdie.address, '--suri', '//Alice'])).last.session;
  assert.ok(Number.isInteger(admittedIn), 'the ValidatorAdmitted session');
  assert.equal((await alice.query.validators.members(ferdie.address)).unwrap().status.type, 'Validator');
  console.log(`admitted in session ${admittedIn}`);

  // Authors within two sessions of admission (one-minute sessions on this chain).
  const authored = await until('Ferdie to author a block', async () => {
    const s = await status(alice, ferdie.address);
    return s.blocksAuthored > 0 ? s : null;
  }, 5 * 60_000);
  console.log(`first authored in session ${authored.session}: ${JSON.stringify({ ...authored, bond: String(authored.bond), slashed: String(authored.slashed) })}`);
  assert.ok(authored.session <= admittedIn + 2, `authored first in session ${authored.session}, admitted in ${admittedIn}`);
  assert.equal(authored.inCurrentSession, true);
  const grandpa = await alice.call.grandpaApi.grandpaAuthorities();
  assert.equal(grandpa.length, 2, 'Ferdie votes in GRANDPA too');

  // Finality keeps up through the join.
  const fin0 = (await alice.rpc.chain.getHeader(await alice.rpc.chain.getFinalizedHead())).number.toNumber();
  await until('finality to advance with two voters', async () =>
    (await alice.rpc.chain.getHeader(await alice.rpc.chain.getFinalizedHead())).number.toNumber() >= fin0 + 3, 60_000);

  const listed = (await aliceCli.ok(['validator', 'ls'])).last;
  assert.ok(listed.validators.some((v) => v.account === ferdie.address && v.inCurrentSession && v.blocksAuthored > 0), 'validator ls shows Ferdie authoring');

  // Leave (with the CLI): out of the set two rotations later; the bond stays held until `unbondsAt`.
  const left = (await ferdieCli.ok(['validator', 'leave', '--suri', '//Ferdie'])).last;
  st = await status(alice, ferdie.address);
  assert.equal(st.status, 'Leaving');
  assert.equal(st.cause, 'Left');
  assert.equal(left.unbondsAt, st.unbondsAt);
  await ferdieCli.refused(['validator', 'withdraw', '--suri', '//Ferdie'], new RegExp(`the bond is still held: it unbonds at session ${st.unbondsAt}`));
  await until('Ferdie to leave the session', async () => !(await status(alice, ferdie.address)).inCurrentSession, 4 * 60_000);
  const fin1 = (await alice.rpc.chain.getHeader(await alice.rpc.chain.getFinalizedHead())).number.toNumber();
  await until('finality to advance after the leave', async () =>
    (await alice.rpc.chain.getHeader(await alice.rpc.chain.getFinalizedHead())).number.toNumber() >= fin1 + 3, 60_000);
  await assert.rejects(send(ferdieApi, ferdieApi.tx.validators.withdrawBond(), ferdie), /validators\.StillBonded/);
  console.log(`finality lag through join and leave: max ${lag.max} blocks over ${lag.samples} blocks`);
  assert.ok(lag.max <= 3, `finality lagged ${lag.max} blocks`);
});

/** Start a validator node as another host would (own address, base path, node key). */
async function startValidator(name, host) {
  const base = path.join(dir, name);
  execFileSync(NODE_BIN, ['key', 'generate-node-key', '--chain', specFile, '--base-path', base], { stdio: 'ignore' });
  const rpc = await freePort();
  const n = start(name, ['--chain', specFile, '--validator', '--base-path', base,
    '--listen-addr', `/ip4/${host}/tcp/${await freePort()}`, '--bootnodes', bootnode,
    '--rpc-port', String(rpc), '--no-prometheus', '--no-telemetry', '--no-mdns']);
  const died = n.exited.then((code) => { throw new Error(`${name} exited (${code}); see ${path.join(dir, name + '.log')}`); });
  died.catch(() => {});
  return { base, api: await Promise.race([connect(`ws://127.0.0.1:${rpc}`), died]) };
}

test('a validator that runs its keys on two machines is reported, slashed, removed, and finality goes on', { timeout: 600_000 }, async () => {
  const dave = keyring.addFromUri('//Dave');
  const sudo = keyring.addFromUri('//Alice');
  const node = await startValidator('dave', '127.0.0.3');
  try {
    await until('Dave to sync', async () => (await node.api.rpc.chain.getHeader()).number.toNumber() >= 3, 120_000);
    await setKeys(node.api, dave, await rotateKeys(node.api, dave.address));
    const bond = 10_000n * UNIT;
    await register(node.api, dave, bond);
    await send(alice, alice.tx.sudo.sudo(alice.tx.validators.admit(dave.address)), sudo);
    await until('Dave to author', async () => (await status(alice, dave.address)).blocksAuthored > 0, 5 * 60_000);
    const setSize = (await alice.query.session.validators()).length;
    const treasury = async () => (await alice.query.system.account(TREASURY)).data.free.toBigInt();
    const treasuryBefore = await treasury();

    // The classic mistake: a "backup" started from a copy of the keystore while the first runs.
    const twinBase = path.join(dir, 'dave-twin');
    cpSync(path.join(node.base, 'chains'), path.join(twinBase, 'chains'), { recursive: true });
    rmSync(path.join(twinBase, 'chains', 'gravity_dev', 'network'), { recursive: true, force: true });
    rmSync(path.join(twinBase, 'chains', 'gravity_dev', 'paritydb'), { recursive: true, force: true });
    const twin = await startValidator('dave-twin', '127.0.0.4');
    await twin.api.disconnect();

    // Alice's node sees two blocks of Dave's for one slot and reports them, sealed, with a
    // key-ownership proof; the report is included and the offence handled. (Both machines
    // also vote in GRANDPA with one key: that equivocation is usually reported as well.)
    const kindsOnChain = async () => (await alice.query.offences.concurrentReportsIndex.keys())
      .map((k) => Buffer.from(k.args[0]).toString());
    await until('a BABE equivocation offence on chain', async () =>
      (await kindsOnChain()).some((k) => k.startsWith('babe:equivocatio')), 4 * 60_000);
    const kinds = await kindsOnChain();
    console.log(`offence kinds on chain: ${kinds.join(', ')}`);
    const slashed = await status(alice, dave.address);
    assert.ok((await alice.query.offences.reports.entries()).length >= 1, 'an offence report is on chain');
    // By how much: a BABE (or GRANDPA) equivocation costs min(1, (3·1/n)²) of the bond; the
    // pallet slashes the largest fraction of the session once.
    const fraction = Math.min(1, (3 / setSize) ** 2);
    const expected = BigInt(Math.round(fraction * 1e9)) * bond / 1_000_000_000n;
    assert.equal(slashed.slashed, expected, `slashed ${slashed.slashed} of ${bond} in a set of ${setSize}`);
    assert.equal(slashed.status, 'Leaving');
    assert.equal(slashed.cause, 'Offence');
    // The slash went to the treasury, nowhere else (no jobs run here: nothing else pays it).
    assert.equal(await treasury() - treasuryBefore, expected);
    // Removed by the next planned session; the chain keeps finalizing without it.
    await until('Dave to be out of the session', async () => !(await status(alice, dave.address)).inCurrentSession, 4 * 60_000);
    const fin = (await alice.rpc.chain.getHeader(await alice.rpc.chain.getFinalizedHead())).number.toNumber();
    await until('finality after the removal', async () =>
      (await alice.rpc.chain.getHeader(await alice.rpc.chain.getFinalizedHead())).number.toNumber() >= fin + 3, 60_000);
  } finally {
    await node.api.disconnect();
  }
});
