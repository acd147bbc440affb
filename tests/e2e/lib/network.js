// A local Gravity network for tests: one validator (Alice) and provider nodes, all separate
// gravity-node processes on loopback.
import { before, after } from 'node:test';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, createWriteStream } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { NODE_BIN, freePort } from './node.js';
import { connect, connectData } from '../../../clients/js/gravity.mjs';

/** The native tools binary built beside the node (programs, native runs). */
export const TASKS_BIN = path.join(path.dirname(NODE_BIN), 'gravity-tasks');

const ALICE_KEY = '0000000000000000000000000000000000000000000000000000000000000001';
const ALICE_PEER = '12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp';

function start(name, args, logDir) {
  const log = createWriteStream(path.join(logDir, `${name}.log`), { flags: 'a' });
  const child = spawn(NODE_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const exited = new Promise((r) => child.on('exit', r));
  return { name, args, child, exited };
}

/**
 * Start Alice (validator) and `providers` provider nodes (//Charlie, //Dave, //Eve, …), each
 * provider node with `providerArgs` added (e.g. `['--provider-max-tasks', '8']`).
 */
export async function startNetwork(providers = ['//Charlie', '//Dave', '//Eve'], providerArgs = []) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gravity-net-'));
  const p2p = await freePort();
  const rpc = await freePort();
  const dataRpc = await freePort();
  // Alice's node is the requester's: it runs the data RPC (off unless asked for).
  const nodes = [start('alice', ['--chain', 'dev', '--alice', '--validator', '--force-authoring', '--base-path', path.join(dir, 'alice'),
    '--node-key', ALICE_KEY, '--port', String(p2p), '--rpc-port', String(rpc), '--data-rpc-port', String(dataRpc),
    '--no-prometheus', '--no-telemetry', '--no-mdns'], dir)];
  for (const suri of providers) {
    const name = suri.replace('//', '').toLowerCase();
    nodes.push(start(name, ['--chain', 'dev', '--base-path', path.join(dir, name), '--provider-dev-key', suri,
      // Plain TCP, as validators listen (a non-validator listens on WebSocket by default): provider
      // nodes serve job data to each other and to the requester's node.
      '--bootnodes', `/ip4/127.0.0.1/tcp/${p2p}/p2p/${ALICE_PEER}`, '--listen-addr', `/ip4/127.0.0.1/tcp/${await freePort()}`,
      '--rpc-port', String(await freePort()), '--no-prometheus', '--no-telemetry', '--no-mdns', ...providerArgs], dir));
  }
  return {
    ws: `ws://127.0.0.1:${rpc}`,
    /** Alice's data RPC. */
    dataWs: `ws://127.0.0.1:${dataRpc}`,
    logDir: dir,
    /** Kill a node as a crash would (SIGKILL: nothing is flushed or shut down cleanly). */
    async crash(name) {
      const n = nodes.find((x) => x.name === name);
      n.child.kill('SIGKILL');
      await n.exited;
    },
    /** Start a crashed node again with the same arguments and base path. */
    restart(name) {
      const i = nodes.findIndex((x) => x.name === name);
      nodes[i] = start(name, nodes[i].args, dir);
    },
    async stop() {
      for (const n of nodes) n.child.kill('SIGINT');
      await Promise.all(nodes.map((n) => Promise.race([n.exited, new Promise((r) => setTimeout(() => { n.child.kill('SIGKILL'); r(); }, 10_000))])));
      if (!process.env.KEEP_LOGS) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The network a test file runs on: before its tests, starts `startNetwork()`, exports the task
 * programs into a fresh work folder and connects to Alice's node; after them, disconnects,
 * stops the nodes and removes the folder. `ready({ net, api, data, alice })` receives what was
 * started (`data`: Alice's data RPC, `connectData`); `providerArgs` go to every provider node. Returns the work folder (the programs are in it as `<name>.wasm`).
 */
export function useNetwork(prefix, ready, { providerArgs = [] } = {}) {
  const work = mkdtempSync(path.join(os.tmpdir(), prefix));
  let net;
  let api;
  let data;
  before(async () => {
    await cryptoWaitReady();
    execFileSync(TASKS_BIN, ['export-programs', work]);
    net = await startNetwork(undefined, providerArgs);
    api = await connect(net.ws);
    // The node answers RPC a moment after it starts; the chain connection above waited for it.
    data = await connectData(net.dataWs);
    await ready({ net, api, data, alice: new Keyring({ type: 'sr25519', ss58Format: 7007 }).addFromUri('//Alice') });
  });
  after(async () => {
    await api?.disconnect();
    await data?.disconnect();
    await net?.stop();
    rmSync(work, { recursive: true, force: true });
  });
  return work;
}
