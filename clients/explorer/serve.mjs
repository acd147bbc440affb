#!/usr/bin/env node
// Serve Gravity's explorer: the built static app (clients/explorer/dist, `npx vite build
// clients/explorer`), a `/config.json` naming the node the page talks to, and two optional
// helpers the page cannot have on its own, both off unless asked for:
//
//   --data-rpc ws://…   `/api/content/<id>?peers=…`: job outputs (render tiles) fetched through
//                       a node's data RPC. The node refuses its data RPC to web pages (every
//                       request with an Origin header); this server, run by the operator on
//                       loopback, reads content for the explorer page and nothing else (no
//                       put, import, export, pin).
//   --reverify          `POST /api/reverify {job, task}`: re-executes a verified task with the
//                       providers' own sandbox, by running `gravity job audit <job> <task>
//                       --json` (same rewritten, metered module, same limits and seed, so the
//                       fuel is the sandbox's), one at a time.
//
// Both answer only requests whose Host is this server's loopback address (no DNS rebinding)
// and, when the request carries an Origin, only this server's own origin: another web page
// the operator opens cannot use them.
//
// Usage: node clients/explorer/serve.mjs [--port 8080] [--host 127.0.0.1] [--rpc ws://127.0.0.1:9944]
//          [--genesis 0x…] [--data-rpc ws://127.0.0.1:9955] [--reverify] [--gravity <cli binary>]
import http from 'node:http';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { existsSync, statSync } from 'node:fs';
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { connectData, getData, parseId } from '../js/gravity.mjs';
import { hexToU8a } from '@polkadot/util';

const HERE = import.meta.dirname;
const DIST = path.join(HERE, 'dist');
/** Largest content the page may read through this server (a render tile is far smaller). */
const MAX_CONTENT = 16 << 20;

function args(argv) {
  const o = { port: 8080, host: '127.0.0.1', rpc: 'ws://127.0.0.1:9944', genesis: null, dataRpc: null, reverify: false, gravity: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--port') o.port = Number(next());
    else if (a === '--host') o.host = next();
    else if (a === '--rpc') o.rpc = next();
    else if (a === '--genesis') o.genesis = next();
    else if (a === '--data-rpc') o.dataRpc = next();
    else if (a === '--reverify') o.reverify = true;
    else if (a === '--gravity') o.gravity = next();
    else throw new Error(`unknown argument ${a} (see the usage at the top of ${path.basename(import.meta.filename)})`);
  }
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) throw new Error(`--port ${o.port}: give a port number`);
  return o;
}

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json', '.png': 'image/png', '.svg': 'image/svg+xml', '.wasm': 'application/wasm' };

function send(res, code, body, type = 'application/json') {
  res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  res.end(typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body));
}

function cliBinary(given) {
  if (given) return given;
  const target = process.env.CARGO_TARGET_DIR || (existsSync('/var/tmp/gravity-target') ? '/var/tmp/gravity-target' : path.join(HERE, '..', '..', 'target'));
  return path.join(target, 'release', 'gravity');
}

/** Run `gravity job audit` for one task: resolves with its JSON lines and exit code. */
function audit(o, job, task) {
  return new Promise(async (resolve) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'gravity-explorer-audit-'));
    const argv = ['job', 'audit', String(job), String(task), '--dir', dir, '--json', '--url', o.rpc];
    if (o.dataRpc) argv.push('--data-url', o.dataRpc);
    const child = spawn(cliBinary(o.gravity), argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
    const done = async (code, spawnError) => {
      clearTimeout(timer);
      await rm(dir, { recursive: true, force: true });
      const lines = out.split('\n').filter(Boolean).flatMap((l) => { try { return [JSON.parse(l)]; } catch { return []; } });
      resolve({ code, lines, error: spawnError ? `cannot run ${cliBinary(o.gravity)}: ${spawnError.message} (build it with scripts/build.sh, or pass --gravity)` : err.trim() });
    };
    child.on('error', (e) => done(null, e));
    child.on('exit', (code) => done(code));
  });
}

export async function serve(o) {
  let data = null;
  const dataClient = async () => {
    if (!data) data = await connectData(o.dataRpc);
    return data;
  };
  let busy = false;
  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url, 'http://x');
      const addr = server.address();
      const hosts = [`127.0.0.1:${addr.port}`, `localhost:${addr.port}`, `[::1]:${addr.port}`, `${o.host}:${addr.port}`];
      if (!hosts.includes(req.headers.host)) return send(res, 421, { error: `this explorer answers only at http://127.0.0.1:${addr.port}` });
      if (url.pathname.startsWith('/api/')) {
        const origin = req.headers.origin;
        if (origin && !hosts.some((h) => origin === `http://${h}`)) return send(res, 403, { error: 'refused: request from another web page' });
        if (url.pathname === '/api/reverify' && req.method === 'POST') {
          if (!o.reverify) return send(res, 404, { error: 're-verify is off on this explorer: start it with --reverify (scripts/explorer.sh does on a local network)' });
          let body = '';
          for await (const c of req) { body += c; if (body.length > 1024) return send(res, 413, { error: 'request too large' }); }
          let p;
          try { p = JSON.parse(body); } catch { return send(res, 400, { error: 'send {"job": <id>, "task": <index>}' }); }
          if (!Number.isSafeInteger(p.job) || p.job < 0 || !Number.isSafeInteger(p.task) || p.task < 0 || p.task > 0xffffffff) return send(res, 400, { error: 'send {"job": <id>, "task": <index>} as non-negative integers' });
          if (busy) return send(res, 429, { error: 'a re-verification is running: try again when it ends' });
          busy = true;
          try {
            const r = await audit(o, p.job, p.task);
            const row = r.lines.find((l) => l.task === p.task && l.rerun !== undefined);
            if (!row) return send(res, 502, { error: r.error || 'the audit printed no result for this task' });
            return send(res, 200, { row, exit: r.code, problems: row.problems });
          } finally {
            busy = false;
          }
        }
        const m = /^\/api\/content\/([0-9a-f]{64}:\d+)$/.exec(url.pathname);
        if (m && req.method === 'GET') {
          if (!o.dataRpc) return send(res, 404, { error: 'outputs are not served by this explorer: start it with --data-rpc ws://… (a node started with --data-rpc-port), or fetch them with `gravity job get`' });
          const id = parseId(m[1]);
          if (id.length > MAX_CONTENT) return send(res, 413, { error: `content over ${MAX_CONTENT} bytes: fetch it with \`gravity data get ${m[1]}\`` });
          const peers = (url.searchParams.get('peers') || '').split(',').filter((p) => /^[1-9A-HJ-NP-Za-km-z]{40,60}$/.test(p)).slice(0, 16);
          const d = await dataClient();
          await getData(d, id, peers);
          const hex = await d.call('gravity_read', [m[1], 0, id.length]);
          return send(res, 200, hexToU8a(hex), 'application/octet-stream');
        }
        return send(res, 404, { error: `no such API: ${url.pathname}` });
      }
      if (url.pathname === '/config.json') return send(res, 200, { rpc: o.rpc, genesis: o.genesis, data: Boolean(o.dataRpc), reverify: o.reverify });
      // Static files; any other path is a page of the app (shareable URLs such as /job/3).
      const rel = path.normalize(decodeURIComponent(url.pathname)).replace(/^(\.\.[/\\])+/, '');
      let file = path.join(DIST, rel);
      if (!file.startsWith(DIST) || !existsSync(file) || statSync(file).isDirectory()) file = path.join(DIST, 'index.html');
      const type = TYPES[path.extname(file)] || 'application/octet-stream';
      return send(res, 200, await readFile(file), type);
    } catch (e) {
      return send(res, 502, { error: String(e.message || e) });
    }
  });
  await new Promise((resolve, reject) => { server.once('error', reject); server.listen(o.port, o.host, resolve); });
  return { server, url: `http://${o.host === '0.0.0.0' ? '127.0.0.1' : o.host}:${server.address().port}`, close: async () => { server.close(); await data?.disconnect(); } };
}

if (import.meta.filename === process.argv[1] || process.argv[1]?.endsWith('serve.mjs')) {
  let o;
  try {
    o = args(process.argv.slice(2));
  } catch (e) {
    console.error(`explorer: ${e.message}`);
    process.exit(2);
  }
  if (!existsSync(path.join(DIST, 'index.html'))) {
    console.error('explorer: clients/explorer/dist is not built: run `npx vite build clients/explorer` (scripts/explorer.sh does)');
    process.exit(1);
  }
  serve(o).then((s) => console.log(`explorer: ${s.url} (node ${o.rpc}${o.dataRpc ? `, outputs via ${o.dataRpc}` : ''}${o.reverify ? ', re-verify on' : ''})`), (e) => {
    console.error(`explorer: cannot listen on ${o.host}:${o.port}: ${e.message}`);
    process.exit(1);
  });
}
