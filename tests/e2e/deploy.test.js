// A testnet made the way an operator makes one, started the way its machines start it:
// `deploy/testnet/make-testnet.mjs` generates every key and the raw spec (boot nodes on this
// host's loopback instead of compose's /dns names), then three validators and two providers
// start from their prepared base paths with `--chain spec.json --base-path <dir>` and their role
// flag, nothing else (no dev keys, no --bootnodes, no mDNS). The network must author with every
// genesis validator, finalize, see each provider's node on chain, and run a paid render job.
// The systemd unit is checked by systemd-analyze (verify and its offline security score).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync, writeFileSync, statSync, createWriteStream, copyFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { NODE_BIN, freePort, until } from './lib/node.js';
import { TASKS_BIN } from './lib/network.js';
import { connect, connectData, putContent, putData, submitJob, waitJob, tasks, taskOutput, assemble } from '../../clients/js/gravity.mjs';
import { status } from '../../clients/js/validator.mjs';

const root = path.resolve(import.meta.dirname, '..', '..');
const MAKE = path.join(root, 'deploy', 'testnet', 'make-testnet.mjs');
let dir;
let out;
let api;
let data;
const nodes = [];

function start(name, args) {
  const log = createWriteStream(path.join(dir, `${name}.log`), { flags: 'a' });
  const child = spawn(NODE_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const n = { name, child, exited: new Promise((r) => child.on('exit', r)) };
  nodes.push(n);
  return n;
}

const make = (args) => spawnSync(process.execPath, [MAKE, '--node', NODE_BIN, ...args], { encoding: 'utf8' });

before(async () => {
  await cryptoWaitReady();
  dir = mkdtempSync(path.join(os.tmpdir(), 'gravity-deploy-'));
  out = path.join(dir, 'out');
  const ports = [await freePort(), await freePort(), await freePort()];
  const r = make(['--out', out, '--validators', '3', '--providers', '2',
    '--boot-addrs', ports.map((p) => `/ip4/127.0.0.1/tcp/${p}`).join(',')]);
  assert.equal(r.status, 0, `make-testnet failed:\n${r.stderr}`);
  const spec = path.join(out, 'spec.json');
  const rpc = await freePort();
  const dataRpc = await freePort();
  for (let n = 1; n <= 3; n++) {
    const extra = n === 1 ? ['--rpc-port', String(rpc), '--data-rpc-port', String(dataRpc)] : ['--rpc-port', String(await freePort())];
    start(`validator-${n}`, ['--chain', spec, '--base-path', path.join(out, `validator-${n}`), '--validator', `--name=validator-${n}`,
      '--listen-addr', `/ip4/127.0.0.1/tcp/${ports[n - 1]}`, '--no-prometheus', '--no-telemetry', '--no-mdns', ...extra]);
  }
  for (let n = 1; n <= 2; n++) {
    start(`provider-${n}`, ['--chain', spec, '--base-path', path.join(out, `provider-${n}`), '--provider', '--provider-max-tasks', '2',
      `--name=provider-${n}`, '--data-budget-gib', '4', '--listen-addr', `/ip4/127.0.0.1/tcp/${await freePort()}`,
      '--rpc-port', String(await freePort()), '--no-prometheus', '--no-telemetry', '--no-mdns']);
  }
  const died = Promise.race(nodes.map((n) => n.exited.then((code) => {
    throw new Error(`${n.name} exited (${code}); see ${path.join(dir, n.name + '.log')}:\n${readFileSync(path.join(dir, n.name + '.log'), 'utf8').slice(-1500)}`);
  })));
  died.catch(() => {});
  api = await Promise.race([connect(`ws://127.0.0.1:${rpc}`), died]);
  data = await connectData(`ws://127.0.0.1:${dataRpc}`);
});

after(async () => {
  await api?.disconnect();
  await data?.disconnect();
  for (const n of nodes) n.child.kill('SIGINT');
  await Promise.all(nodes.map((n) => Promise.race([n.exited, new Promise((r) => setTimeout(() => { n.child.kill('SIGKILL'); r(); }, 10_000))])));
  if (dir && !process.env.KEEP_LOGS) rmSync(dir, { recursive: true, force: true });
});

test('make-testnet writes a live raw spec with the boot nodes, keeps secrets private, and never overwrites a testnet', () => {
  const spec = JSON.parse(readFileSync(path.join(out, 'spec.json'), 'utf8'));
  assert.equal(spec.id, 'gravity_testnet');
  assert.equal(spec.chainType, 'Live');
  assert.ok(spec.genesis.raw, 'the published spec is raw');
  assert.equal(spec.bootNodes.length, 3);
  const secrets = JSON.parse(readFileSync(path.join(out, 'secrets.json'), 'utf8'));
  const peers = secrets.validators.map((v) => v.peer);
  spec.bootNodes.forEach((b, i) => assert.match(b, new RegExp(`^/ip4/127\\.0\\.0\\.1/tcp/\\d+/p2p/${peers[i]}$`)));
  assert.equal(statSync(path.join(out, 'secrets.json')).mode & 0o777, 0o600, 'secrets.json is readable by its owner only');
  // Each node holds only its own keys.
  const keys = (base) => readdirKeys(path.join(out, base));
  assert.equal(keys('validator-1').length, 2, 'a validator holds its babe and grandpa keys');
  assert.equal(keys('provider-1').length, 1, 'a provider holds its grav key');
  // A testnet's keys are made once.
  const again = make(['--out', out]);
  assert.equal(again.status, 2);
  assert.match(again.stderr, /exists: a testnet's keys are made once/);
  const bad = make(['--out', path.join(dir, 'other'), '--validators', '2', '--boot-addrs', '/ip4/127.0.0.1/tcp/1']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /lists 1 addresses for 2 validators/);
});

function readdirKeys(base) {
  const ks = path.join(base, 'chains', 'gravity_testnet', 'keystore');
  return execFileSync('ls', [ks], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

test('three validators started from the spec alone author and finalize; both providers are on chain', { timeout: 600_000 }, async () => {
  const secrets = JSON.parse(readFileSync(path.join(out, 'secrets.json'), 'utf8'));
  const session = (await api.query.session.validators()).map((v) => v.toString());
  assert.deepEqual([...session].sort(), secrets.validators.map((v) => v.account).sort(), 'the genesis set is the generated validators');
  assert.ok(session.every((a) => a.startsWith('fh')), 'secrets.json names accounts in the chain\'s SS58 format (7007)');
  // Every validator authors (BABE primary and secondary slots rotate over the three).
  await until('every validator to author', async () => {
    const authored = await Promise.all(secrets.validators.map(async (v) => (await status(api, v.account)).blocksAuthored));
    console.log(`blocks authored: ${authored.join(', ')}`);
    return authored.every((b) => b > 0);
  }, 8 * 60_000);
  // Every validator may have authored within the first blocks: give GRANDPA its rounds.
  await until('GRANDPA to finalize #3', async () =>
    (await api.rpc.chain.getHeader(await api.rpc.chain.getFinalizedHead())).number.toNumber() >= 3, 120_000);
  const fin = await api.rpc.chain.getHeader(await api.rpc.chain.getFinalizedHead());
  const best = await api.rpc.chain.getHeader();
  assert.ok(best.number.toNumber() - fin.number.toNumber() <= 3, `finality keeps up (finalized #${fin.number}, best #${best.number})`);
  // Each provider's node found its key in its keystore and published its peer id.
  for (const p of secrets.providers) {
    await until(`${p.name} to publish its endpoint`, async () => {
      const e = await api.query.providers.endpoints(p.account);
      return e.isSome;
    }, 120_000);
  }
});

test('a requester pays for a render job on the testnet and gets the native image', { timeout: 600_000 }, async () => {
  const secrets = JSON.parse(readFileSync(path.join(out, 'secrets.json'), 'utf8'));
  const requester = new Keyring({ type: 'sr25519', ss58Format: 7007 }).addFromUri(secrets.sudo.phrase);
  execFileSync(TASKS_BIN, ['export-programs', dir]);
  const render = readFileSync(path.join(dir, 'render.wasm'));
  // The demo scene, smaller: 128 × 96 in four 64-pixel tiles (the job's kind must match the scene).
  const scenePath = path.join(dir, 'small.scene');
  writeFileSync(scenePath, readFileSync(path.join(root, 'tasks/render/scenes/demo.scene'), 'utf8')
    .replace(/^size .*$/m, 'size 128 96').replace(/^tile .*$/m, 'tile 64'));
  const programId = await putContent(api, requester, render);
  const sceneId = await putData(data, readFileSync(scenePath));
  const before = (await api.query.system.account(requester.address)).data.free.toBigInt();
  const { job } = await submitJob(api, requester, {
    program: programId, kind: { Render: { width: 128, height: 96, tile: 64, frames: 1 } },
    inputs: [sceneId], replication: { initial: 2, max: 4, quorum: 2, adaptive: false },
    pricePerFuel: 1n, fuelCap: 2_000_000_000,
  });
  const done = await waitJob(api, job, (p) => console.log(`testnet render job ${job}: #${p.block} ${p.verified}/${p.tasks}`));
  assert.equal(done.status, 'Completed');
  assert.equal(done.tasks, 4);
  const ts = await tasks(api, job, done.tasks);
  const tiles = [];
  for (const t of ts) tiles.push(await taskOutput(api, data, t));
  execFileSync(TASKS_BIN, ['render', scenePath, path.join(dir, 'native.rgb')]);
  assert.ok(assemble(128, 96, tiles).equals(readFileSync(path.join(dir, 'native.rgb'))), 'the testnet render equals the native one');
  const after = (await api.query.system.account(requester.address)).data.free.toBigInt();
  assert.ok(after < before, 'the requester paid');
});

test('the systemd unit verifies and scores as hardened', (t) => {
  if (spawnSync('systemd-analyze', ['--version']).status !== 0) {
    t.skip('systemd-analyze is not installed');
    return;
  }
  // The unit as installed, with the binary and settings where this checkout has them.
  const unit = path.join(dir, 'gravity-node.service');
  const env = path.join(dir, 'gravity-node.env');
  copyFileSync(path.join(root, 'deploy/systemd/gravity-node.env'), env);
  writeFileSync(unit, readFileSync(path.join(root, 'deploy/systemd/gravity-node.service'), 'utf8')
    .replaceAll('/usr/local/bin/gravity-node', NODE_BIN).replace('/etc/gravity/gravity-node.env', env));
  const v = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
  assert.equal(v.status, 0, v.stderr);
  assert.equal(v.stderr.trim(), '', `systemd-analyze verify warns:\n${v.stderr}`);
  const s = spawnSync('systemd-analyze', ['security', '--offline=true', unit], { encoding: 'utf8' });
  const m = /Overall exposure level for \S+: ([\d.]+)/.exec(s.stdout + s.stderr);
  assert.ok(m, `no exposure score:\n${s.stdout}${s.stderr}`);
  assert.ok(Number(m[1]) <= 2.0, `exposure ${m[1]} (at most 2.0: the node needs its state directory and the network, nothing else)`);
});
