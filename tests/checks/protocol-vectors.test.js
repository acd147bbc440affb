// The JavaScript client computes what the protocol crate computes: content ids, result digests
// and commitments from `clients/js/protocol.mjs` (the explorer and the JS scripts use it) against
// `protocol/vectors.json`, which `protocol/tests/vectors.rs` keeps equal to gravity-protocol's own
// results. A change on either side alone fails one of the two tests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { contentId, resultDigest, commitmentOf, idText, parseId } from '../../clients/js/protocol.mjs';
import { hexToU8a } from '@polkadot/util';

const root = path.resolve(import.meta.dirname, '..', '..');
const vectors = JSON.parse(readFileSync(path.join(root, 'protocol', 'vectors.json'), 'utf8'));

const pattern = (n) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + 7) % 251);

test('content ids: BLAKE3 root and length, and their text form', () => {
  assert.ok(vectors.content.length >= 5);
  for (const v of vectors.content) {
    const id = contentId(pattern(v.pattern));
    assert.deepEqual(id, v.id, `content id of ${v.pattern} bytes`);
    assert.deepEqual(parseId(idText(id)), v.id);
  }
});

test('result digests, integers beyond 2^53 included', () => {
  assert.ok(vectors.digest.length >= 3);
  for (const v of vectors.digest) {
    assert.equal(resultDigest(v.output, BigInt(v.fuel), BigInt(v.job), v.task, v.round), v.digest, JSON.stringify(v));
  }
});

test('commitments', () => {
  assert.ok(vectors.commitment.length >= 3);
  for (const v of vectors.commitment) {
    assert.equal(commitmentOf(v.digest, BigInt(v.fuel), v.provider, BigInt(v.job), v.task, hexToU8a(v.salt)), v.commitment, JSON.stringify(v));
  }
});
