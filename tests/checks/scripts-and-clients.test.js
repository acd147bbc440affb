// Cheap checks, run before any build (seconds): every binary of this workspace that a script,
// client or test runs is built by the build step that precedes it. Catches "the demo needs a
// binary that only the test build produces" (the demo then dies on a fresh machine with ENOENT,
// while CI, whose target directory persists, never notices).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..', '..');
const rel = (f) => path.relative(root, f);

/** Binaries of the workspace's own packages: name -> package. */
function workspaceBinaries() {
  const meta = JSON.parse(execFileSync('cargo', ['metadata', '--no-deps', '--format-version', '1', '--offline'], { cwd: root, maxBuffer: 64 << 20 }));
  const bins = new Map();
  for (const p of meta.packages) for (const t of p.targets) if (t.kind.includes('bin')) bins.set(t.name, p.name);
  return bins;
}

/** The `cargo build` invocations of a shell script's text (comments dropped, continuations joined). */
function cargoBuilds(script) {
  const text = script.replace(/\\\n/g, ' ');
  return text.split('\n').map((l) => l.replace(/(^|\s)#.*$/, '')).filter((l) => /(^|[\s;&|(])cargo\s+build\b/.test(l));
}

const readScript = (f) => readFileSync(path.join(root, f), 'utf8');

/** Binaries a script's cargo builds produce. */
function builtBy(script, bins) {
  const out = new Set();
  for (const line of cargoBuilds(script)) {
    const words = line.trim().split(/\s+/);
    if (words.includes('--workspace') || words.includes('--all')) for (const b of bins.keys()) out.add(b);
    words.forEach((w, i) => {
      const next = words[i + 1];
      if ((w === '-p' || w === '--package') && next) for (const [b, p] of bins) if (p === next) out.add(b);
      if (w === '--bin' && next) out.add(next);
      const m = w.match(/^(?:-p|--package=|--bin=)(.+)$/);
      if (m) for (const [b, p] of bins) if (p === m[1] || b === m[1]) out.add(b);
    });
  }
  return out;
}

function files(dir, exts) {
  const out = [];
  for (const e of readdirSync(dir)) {
    if (e === 'node_modules' || e.startsWith('.')) continue;
    const f = path.join(dir, e);
    if (statSync(f).isDirectory()) out.push(...files(f, exts));
    else if (exts.some((x) => f.endsWith(x))) out.push(f);
  }
  return out;
}

/** Workspace binaries named in a file (as a whole word: `gravity-tasks`, not `gravity-tasks-x`). */
function referenced(file, bins) {
  const text = readFileSync(file, 'utf8');
  return [...bins.keys()].filter((b) => new RegExp(`(?<![\\w-])${b.replace(/[-]/g, '\\-')}(?![\\w-])`).test(text));
}

// Which build step each file runs after. scripts/benchmark.sh builds its own binary.
const BUILD_FOR = [
  { build: 'scripts/build.sh', files: () => [...files(path.join(root, 'clients'), ['.js', '.mjs']), ...['scripts/start.sh', 'scripts/local-network.sh', 'scripts/env.sh'].map((f) => path.join(root, f))] },
  { build: 'scripts/test.sh', files: () => files(path.join(root, 'tests'), ['.js', '.mjs', '.sh']) },
];

test('every workspace binary a script, client or test runs is built by the build step before it', () => {
  const bins = workspaceBinaries();
  assert.ok(bins.has('gravity-node') && bins.has('gravity-tasks'), `cargo metadata lists the workspace binaries (got ${[...bins.keys()]})`);
  const missing = [];
  for (const { build, files: list } of BUILD_FOR) {
    const built = builtBy(readScript(build), bins);
    for (const f of list()) for (const b of referenced(f, bins)) if (!built.has(b)) missing.push(`${rel(f)} uses ${b}, which ${build} does not build`);
  }
  assert.deepEqual(missing, [], `add these packages to the cargo build of the named script:\n  ${missing.join('\n  ')}`);
});

test('start.sh builds with scripts/build.sh, and build.sh is one cargo invocation', () => {
  const start = readFileSync(path.join(root, 'scripts/start.sh'), 'utf8');
  assert.match(start, /build\.sh/, 'start.sh runs scripts/build.sh');
  assert.equal(cargoBuilds(readScript('scripts/build.sh')).length, 1, 'scripts/build.sh runs exactly one cargo build (a second one is a second long build)');
});

test('the checks see a missing binary (self-test on synthetic scripts)', () => {
  const bins = new Map([['gravity-node', 'gravity-node'], ['gravity-tasks', 'gravity-tasks'], ['gravity-executor-bench', 'gravity-executor-bench']]);
  const sorted = (s) => [...s].sort();
  // Today's mistake: build.sh built only the node.
  assert.deepEqual(sorted(builtBy('set -e\ncargo build --release --locked -p gravity-node\n', bins)), ['gravity-node']);
  assert.deepEqual(sorted(builtBy('cargo build --release \\\n  -p gravity-node -p gravity-tasks\n', bins)), ['gravity-node', 'gravity-tasks']);
  assert.deepEqual(sorted(builtBy('cargo build --release --workspace\n', bins)), [...bins.keys()].sort());
  assert.deepEqual(sorted(builtBy('# cargo build --workspace\necho no build\n', bins)), []);
  assert.equal(cargoBuilds('cargo build -p a\ncargo build -p b\n').length, 2);
});

test('the demo answers --help with its options and exits without connecting; a bad option is an error', () => {
  const demo = path.join(root, 'clients/js/demo-render.mjs');
  const t0 = Date.now();
  const help = execFileSync('node', [demo, '--help'], { encoding: 'utf8', timeout: 20_000 });
  assert.match(help, /^usage: node clients\/js\/demo-render\.mjs/);
  for (const opt of ['--rpc', '--out', '--scene', '--frames', '--help']) assert.ok(help.includes(opt), `--help lists ${opt}`);
  assert.ok(Date.now() - t0 < 20_000);
  let failed;
  try {
    execFileSync('node', [demo, '--no-such-option'], { encoding: 'utf8', stdio: 'pipe', timeout: 20_000 });
  } catch (e) {
    failed = e;
  }
  assert.ok(failed, 'an unknown option fails');
  assert.equal(failed.status, 2);
  assert.match(failed.stderr, /Unknown option '--no-such-option'/);
  for (const bad of ['0', '1.5', 'two', '65']) {
    let err;
    try {
      execFileSync('node', [demo, '--frames', bad], { encoding: 'utf8', stdio: 'pipe', timeout: 20_000 });
    } catch (e) {
      err = e;
    }
    assert.equal(err?.status, 2, `--frames ${bad} is refused`);
    assert.match(err.stderr, /--frames must be a whole number from 1 to 64/);
  }
});
