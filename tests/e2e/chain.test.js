// End to end with a real client: gravity-node --dev, @polkadot/api from npm, a signed transfer.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ApiPromise, WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { startDevNode, runToExit, freePort } from './lib/node.js';

let node;
let api;

before(async () => {
  await cryptoWaitReady();
  node = await startDevNode();
  api = await ApiPromise.create({ provider: new WsProvider(node.ws), noInitWarn: true });
});

after(async () => {
  await api?.disconnect();
  await node?.stop();
});

test('--dev authors its first block within 10 s of start', async () => {
  const ms = await Promise.race([node.firstBlockAt, new Promise((r) => setTimeout(() => r(Infinity), 20_000))]);
  console.log(`first block after ${ms} ms`);
  assert.ok(ms <= 10_000, `first block took ${ms} ms`);
});

test('runs the Wasm runtime and exposes Gravity metadata and properties', async () => {
  const version = api.runtimeVersion;
  assert.equal(version.specName.toString(), 'gravity');
  assert.ok(api.runtimeMetadata.version >= 14);
  for (const p of ['system', 'balances', 'babe', 'grandpa', 'timestamp', 'transactionPayment', 'sudo']) {
    assert.ok(api.query[p], `pallet ${p} missing from metadata`);
  }
  const props = await api.rpc.system.properties();
  assert.equal(props.ss58Format.unwrap().toNumber(), 7007);
  assert.equal(props.tokenSymbol.unwrap()[0].toString(), 'GRAV');
  assert.equal(props.tokenDecimals.unwrap()[0].toNumber(), 12);
  // The node executes the on-chain Wasm: :code is set and matches the runtime version it reports.
  const code = await api.rpc.state.getStorage(':code');
  assert.ok(code.isSome && code.unwrap().length > 100_000, 'no Wasm runtime code in storage');
  const methods = (await api.rpc.rpc.methods()).methods.map((m) => m.toString());
  for (const m of ['system_accountNextIndex', 'payment_queryInfo', 'chain_getFinalizedHead', 'author_submitExtrinsic', 'state_getStorage']) {
    assert.ok(methods.includes(m), `RPC ${m} missing`);
  }
});

test('a signed balance transfer from Alice is finalized with its Transfer event', { timeout: 90_000 }, async () => {
  const keyring = new Keyring({ type: 'sr25519', ss58Format: 7007 });
  const alice = keyring.addFromUri('//Alice');
  const dave = keyring.addFromUri('//Dave');
  const amount = 1_234_000_000_000n; // 1.234 GRAV
  const before = (await api.query.system.account(dave.address)).data.free.toBigInt();

  const { blockHash, events } = await new Promise((resolve, reject) => {
    api.tx.balances
      .transferKeepAlive(dave.address, amount)
      .signAndSend(alice, ({ status, events, dispatchError }) => {
        if (dispatchError) reject(new Error(dispatchError.toString()));
        if (status.isFinalized) resolve({ blockHash: status.asFinalized, events });
      })
      .catch(reject);
  });
  const transfer = events.find(({ event }) => api.events.balances.Transfer.is(event));
  assert.ok(transfer, 'no balances.Transfer event');
  const [from, to, value] = transfer.event.data;
  assert.equal(from.toString(), alice.address);
  assert.equal(to.toString(), dave.address);
  assert.equal(value.toBigInt(), amount);
  assert.ok(events.some(({ event }) => api.events.system.ExtrinsicSuccess.is(event)));
  // Finalized, not just included.
  const finalized = await api.rpc.chain.getFinalizedHead();
  const [inc, fin] = await Promise.all([api.rpc.chain.getHeader(blockHash), api.rpc.chain.getHeader(finalized)]);
  assert.ok(fin.number.toNumber() >= inc.number.toNumber());
  const after = (await api.query.system.account(dave.address)).data.free.toBigInt();
  assert.equal(after - before, amount);
});

test('a wrong --chain name is one clear line and a non-zero exit, leaving nothing behind', async () => {
  const base = path.join(mkdtempSync(path.join(os.tmpdir(), 'gravity-bad-')), 'db');
  const { code, stderr } = await runToExit(['--chain', 'no-such-chain', '--base-path', base]);
  assert.notEqual(code, 0);
  const lines = stderr.trim().split('\n').filter((l) => l.startsWith('Error'));
  assert.equal(lines.length, 1, stderr);
  assert.match(lines[0], /unknown chain 'no-such-chain'.*dev, local/);
  assert.ok(!existsSync(base) || readdirSync(base).length === 0, 'base path was written');
});

test('a port already in use is one clear line and a non-zero exit', async () => {
  const port = await freePort();
  const blocker = net.createServer().listen(port, '127.0.0.1');
  await new Promise((r) => blocker.on('listening', r));
  try {
    const { code, stderr } = await runToExit(['--dev', '--tmp', '--rpc-port', String(port), '--no-prometheus', '--port', String(await freePort())]);
    assert.notEqual(code, 0);
    const err = stderr.trim().split('\n').filter((l) => l.startsWith('Error'));
    assert.equal(err.length, 1, stderr);
    assert.match(err[0], /port \d+ \(--rpc-port\).*already in use/);
  } finally {
    blocker.close();
  }
});
