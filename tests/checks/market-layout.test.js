// The market pallet's logic files stay layered (pallets/market/README.md, "Code layout"): no
// file calls into a file that calls it back, every change of a task's phase or a job's status
// is made in the lifecycle module, and no function grows past 80 lines. Read from the source,
// before any build: a change that breaks the layout fails here with the file and function.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

const src = path.resolve(import.meta.dirname, '..', '..', 'pallets', 'market', 'src');
const files = readdirSync(src).filter((f) => f.endsWith('_impls.rs')).map((f) => f.slice(0, -3));

/** Every method of `impl … Pallet<T>` blocks, one tab in: name → { file, body, lines }. */
function methods() {
  const all = new Map();
  for (const file of files) {
    const text = readFileSync(path.join(src, `${file}.rs`), 'utf8');
    const re = /\n\t(?:pub\(crate\) |pub )?fn ([a-z_0-9]+)[^\n]*\n([\s\S]*?)\n\t\}\n/g;
    for (let m; (m = re.exec(text));) {
      assert.ok(!all.has(m[1]) || all.get(m[1]).file === file, `fn ${m[1]} is defined in two files`);
      all.set(m[1], { file, body: m[2], lines: m[2].split('\n').length + 2 });
    }
  }
  return all;
}

test('the market logic files call each other without cycles', () => {
  const fns = methods();
  assert.ok(fns.size > 60, `found ${fns.size} methods: the parser no longer matches the sources`);
  const edges = new Map(files.map((f) => [f, new Map()]));
  for (const [name, { file, body }] of fns) {
    for (const [, callee] of body.matchAll(/(?:Self|Pallet::<T>)::([a-z_0-9]+)\(/g)) {
      const to = fns.get(callee)?.file;
      if (to && to !== file) edges.get(file).set(to, `${name} → ${callee}`);
    }
  }
  // A depth-first search from each file: reaching the file again is a cycle.
  for (const start of files) {
    const stack = [[start, [start]]];
    const seen = new Set();
    while (stack.length) {
      const [at, trail] = stack.pop();
      for (const [to, via] of edges.get(at)) {
        assert.notEqual(to, start, `cycle: ${[...trail, to].join(' → ')} (last call ${via})`);
        if (!seen.has(to)) {
          seen.add(to);
          stack.push([to, [...trail, to]]);
        }
      }
    }
  }
  // The configuration is the floor (it calls no other logic file); the leaves call only the
  // configuration; the lifecycle calls only leaves and the configuration.
  assert.deepEqual([...edges.get('config_impls').keys()], [], 'config_impls is the floor');
  for (const leaf of ['queue_impls', 'escrow_impls', 'utility_impls']) {
    assert.deepEqual([...edges.get(leaf).keys()].filter((to) => to !== 'config_impls'), [], `${leaf} is a leaf`);
  }
  for (const to of edges.get('lifecycle_impls').keys()) {
    assert.ok(['queue_impls', 'escrow_impls', 'utility_impls', 'config_impls'].includes(to), `the lifecycle calls ${to}`);
  }
});

test('every phase and status change is made in the lifecycle module', () => {
  for (const file of files.filter((f) => f !== 'lifecycle_impls')) {
    const text = readFileSync(path.join(src, `${file}.rs`), 'utf8');
    const writes = text.split('\n').filter((l) => /\.(phase|status|stage) = /.test(l));
    assert.deepEqual(writes, [], `${file}.rs changes a phase or status itself`);
  }
});

test('no market function is longer than 80 lines', () => {
  const long = [...methods()].filter(([, f]) => f.lines > 80).map(([n, f]) => `${f.file}::${n} (${f.lines} lines)`);
  assert.deepEqual(long, []);
});
