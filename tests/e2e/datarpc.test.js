// The node's data RPC against strangers, on a real `gravity-node --dev`: it is off unless asked
// for and never on the chain RPC; it refuses web pages (any request with an Origin header, HTTP
// or WebSocket); it takes no paths (only plain names in the data exchange directory, links not
// followed, exports never overwrite); and it still does its job.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync, symlinkSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import net from 'node:net';
import { ApiPromise, WsProvider } from '@polkadot/api';
import { startDevNode, freePort } from './lib/node.js';
import { connectData, putData, readData, getData, idText, contentId } from '../../clients/js/gravity.mjs';

let node;
let plain;
let dataPort;
let data;

before(async () => {
  dataPort = await freePort();
  node = await startDevNode(['--data-rpc-port', String(dataPort), '--rpc-cors', 'all']);
  data = await connectData(`ws://127.0.0.1:${dataPort}`);
});

after(async () => {
  await data?.disconnect();
  await node?.stop();
  await plain?.stop();
});

/** A JSON-RPC call over HTTP with extra headers; resolves { status, body }. */
async function post(port, method, params, headers = {}) {
  const res = await fetch(`http://127.0.0.1:${port}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  return { status: res.status, body: await res.text() };
}

test('the data methods are not on the chain RPC, and without --data-rpc-port nothing serves them', { timeout: 90_000 }, async () => {
  const api = await ApiPromise.create({ provider: new WsProvider(node.ws), noInitWarn: true });
  const methods = (await api.rpc.rpc.methods()).methods.map((m) => m.toString());
  await api.disconnect();
  assert.deepEqual(methods.filter((m) => m.startsWith('gravity_')), [], 'no gravity_* method on the chain RPC (which --dev opens to every origin)');
  const r = await post(node.rpcPort, 'gravity_ls', []);
  assert.match(r.body, /Method not found/);
  // A node started without the flag listens on no data RPC port.
  const port = await freePort();
  plain = await startDevNode();
  await assert.rejects(post(port, 'gravity_ls', []), 'nothing listens');
  assert.doesNotMatch(plain.log(), /data RPC on/);
  assert.match(node.log(), new RegExp(`data RPC on http://127\\.0\\.0\\.1:${dataPort}`));
});

test('a web page cannot use the data RPC: any request with an Origin header is refused, HTTP or WebSocket', { timeout: 30_000 }, async () => {
  const ok = await post(dataPort, 'gravity_ls', []);
  assert.equal(ok.status, 200);
  for (const origin of ['http://evil.example', 'null', 'http://127.0.0.1:8080']) {
    const r = await post(dataPort, 'gravity_ls', [], { origin });
    assert.equal(r.status, 403, `HTTP from ${origin}`);
    assert.match(r.body, /does not answer web pages/);
  }
  // A browser's WebSocket handshake always carries Origin.
  const handshake = (headers) => new Promise((resolve, reject) => {
    const sock = net.connect(dataPort, '127.0.0.1', () => sock.write([
      'GET / HTTP/1.1', `Host: 127.0.0.1:${dataPort}`, 'Upgrade: websocket', 'Connection: Upgrade',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13', ...headers, '', ''].join('\r\n')));
    sock.once('data', (d) => { sock.destroy(); resolve(Number(d.toString().split(' ')[1])); });
    sock.on('error', reject);
  });
  assert.equal(await handshake([]), 101, 'a client that is not a browser upgrades');
  const refused = await handshake(['Origin: http://evil.example']);
  assert.equal(refused, 403);
  // The data RPC listens on loopback only.
  assert.match(node.log(), /data RPC on http:\/\/127\.0\.0\.1:/);
});

test('the data RPC takes no paths: names in the exchange directory only, links not followed, no overwrites', { timeout: 60_000 }, async () => {
  const io = data.info.ioDir;
  assert.equal(io, path.join(node.base, 'data-io'));
  // A secret the node user can read, e.g. its keystore: no call can name it.
  const secret = path.join(node.base, 'secret.txt');
  writeFileSync(secret, 'the provider key');
  for (const name of [secret, '../secret.txt', 'a/../../secret.txt', '.hidden', '', 'x'.repeat(256)]) {
    await assert.rejects(data.call('gravity_import', [name]), /not a plain file name/, `import '${name}'`);
  }
  // A link planted in the exchange directory is not followed.
  symlinkSync(secret, path.join(io, 'link'));
  await assert.rejects(data.call('gravity_import', ['link']), /links are not followed/);
  // The old call shape with a path is refused as invalid parameters.
  await assert.rejects(data.call('gravity_put', [secret, null]));
  // A plain file in the directory is imported.
  writeFileSync(path.join(io, 'scene.txt'), 'sphere 0 0 0 1');
  const id = await data.call('gravity_import', ['scene.txt']);
  assert.equal(id, idText(contentId(Buffer.from('sphere 0 0 0 1'))));
  // Exports write new files in the directory only, never over an existing file or elsewhere.
  await data.call('gravity_export', [id, 'out.txt']);
  assert.equal(readFileSync(path.join(io, 'out.txt'), 'utf8'), 'sphere 0 0 0 1');
  await assert.rejects(data.call('gravity_export', [id, 'out.txt']), /exists/);
  await assert.rejects(data.call('gravity_export', [id, 'link']), /exists/);
  assert.equal(readFileSync(secret, 'utf8'), 'the provider key', 'the link target is untouched');
  await assert.rejects(data.call('gravity_export', [id, '../../evil']), /not a plain file name/);
  assert.ok(!existsSync(path.join(node.base, '..', 'evil')));
});

test('the data RPC still does its job: bytes in and out, large files through the exchange directory, bounded calls', { timeout: 60_000 }, async () => {
  const small = Buffer.from('hello gravity');
  const a = await putData(data, small);
  assert.deepEqual(a, contentId(small));
  assert.ok((await readData(data, a)).equals(small));
  // Larger than one call: staged in the exchange directory and imported; read back in parts.
  const big = Buffer.alloc(data.info.maxCallBytes + 12345);
  for (let i = 0; i < big.length; i += 4096) big[i] = (i / 4096) & 0xff;
  const b = await putData(data, big);
  assert.deepEqual(b, contentId(big));
  assert.ok((await readData(data, b)).equals(big));
  assert.equal((await getData(data, b)).state, 'complete');
  await assert.rejects(data.call('gravity_read', [idText(b), 0, data.info.maxCallBytes + 1]), /at most/);
  await assert.rejects(data.call('gravity_read', [`${'ab'.repeat(32)}:5`, 0, 5]), /not complete on this node/);
  // Nothing was left in the exchange directory.
  assert.deepEqual((await import('node:fs')).readdirSync(data.info.ioDir).filter((n) => n.startsWith('put-')), []);
});
