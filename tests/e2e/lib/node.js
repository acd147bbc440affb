// Start and stop gravity-node processes for the tests.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..', '..', '..');
const targetDir = process.env.CARGO_TARGET_DIR || path.join(root, 'target');
export const NODE_BIN = process.env.GRAVITY_NODE || path.join(targetDir, 'release', 'gravity-node');

/** A free TCP port on loopback. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Run gravity-node to completion: resolves { code, stdout, stderr }. */
export function runToExit(args, timeoutMs = 30_000) {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`gravity-node ${args.join(' ')} did not exit within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Start `gravity-node --dev` on free ports. Resolves once its RPC server listens, with
 * { ws, rpcPort, base (its --base-path), startedAt, firstBlockAt (promise of ms since start), log(), stop() }.
 */
export async function startDevNode(extraArgs = []) {
  const rpcPort = await freePort();
  const p2pPort = await freePort();
  const base = mkdtempSync(path.join(os.tmpdir(), 'gravity-e2e-'));
  const args = ['--dev', '--base-path', base, '--rpc-port', String(rpcPort), '--port', String(p2pPort),
    '--no-prometheus', '--no-telemetry', '--no-mdns', ...extraArgs];
  const startedAt = Date.now();
  const child = spawn(NODE_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let logText = '';
  let resolveFirst;
  const firstBlockAt = new Promise((r) => (resolveFirst = r));
  const onData = (d) => {
    logText += d;
    if (/Imported #1 |Pre-sealed block for proposal at 1\.|Prepared block for proposing at 1 /.test(logText)) {
      resolveFirst(Date.now() - startedAt);
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise((r) => child.on('exit', r));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`RPC not up within 60 s:\n${logText.slice(-2000)}`)), 60_000);
    const check = () => {
      if (logText.includes('Running JSON-RPC server')) {
        clearTimeout(timer);
        resolve();
      } else {
        setTimeout(check, 100);
      }
    };
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`gravity-node exited with ${code}:\n${logText.slice(-2000)}`));
    });
    check();
  });
  return {
    ws: `ws://127.0.0.1:${rpcPort}`,
    rpcPort,
    base,
    p2pPort,
    startedAt,
    firstBlockAt,
    log: () => logText,
    async stop() {
      child.kill('SIGINT');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
      rmSync(base, { recursive: true, force: true });
    },
  };
}

/** Poll `fn` every `everyMs` until it returns something truthy (returned), or throw after `timeoutMs`. */
export async function until(what, fn, timeoutMs, everyMs = 2000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
