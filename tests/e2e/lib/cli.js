// Running the `gravity` CLI from tests: without blocking the event loop, reading only --json.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { NODE_BIN } from './node.js';

export const GRAVITY = path.join(path.dirname(NODE_BIN), 'gravity');

/**
 * Run a program without blocking the event loop (a blocked loop starves the test's own
 * @polkadot/api connection, which the node then drops): { code, stdout, stderr }.
 */
export function run(cmd, args, { env = {}, timeout = 900_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${cmd} ${args.join(' ')}: no exit within ${timeout} ms`)); }, timeout);
    child.on('error', reject);
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

/**
 * A `gravity` bound to one node (`url`, and `dataUrl` for its data RPC):
 * `gravity(args)` → { code, lines (parsed JSON objects), last, stderr }; `ok(args)` must succeed;
 * `refused(args, pattern)` must fail with one line on stderr matching `pattern`.
 */
export function cliAt(url, dataUrl) {
  const gravity = async (args, opts = {}) => {
    const where = ['--url', typeof url === 'function' ? url() : url];
    if (dataUrl) where.push('--data-url', typeof dataUrl === 'function' ? dataUrl() : dataUrl);
    const r = await run(GRAVITY, [...args, '--json', ...where], opts);
    const lines = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    return { code: r.code, lines, last: lines[lines.length - 1], stderr: r.stderr };
  };
  const ok = async (args, opts) => {
    const r = await gravity(args, opts);
    assert.equal(r.code, 0, `gravity ${args.join(' ')} failed: ${r.stderr}`);
    return r;
  };
  const refused = async (args, pattern, opts) => {
    const r = await gravity(args, opts);
    assert.notEqual(r.code, 0, `gravity ${args.join(' ')} should fail`);
    const errLines = r.stderr.split('\n').filter(Boolean);
    assert.equal(errLines.length, 1, `one line of error, got:\n${r.stderr}`);
    assert.match(errLines[0], pattern);
    return r;
  };
  return { gravity, ok, refused };
}
