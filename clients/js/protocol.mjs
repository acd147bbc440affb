// What every party computes identically, in JavaScript (gravity_protocol's content ids, result
// digests and commitments). No Node.js APIs: the CLI's JavaScript twin (`gravity.mjs`) and the
// explorer (a web page) both use it.
import { blake2AsHex, decodeAddress } from '@polkadot/util-crypto';
import { u8aToHex, u8aConcat, hexToU8a } from '@polkadot/util';
import { blake3 } from '@noble/hashes/blake3';

/**
 * Content id of bytes: `{ root: blake3 (0x-hex), length }`, as the chain computes it for a blob
 * and a node's content store for the same bytes off chain. (The chain's fields are `root` and
 * `length`: a polkadot.js struct codec has `hash` and `size` properties of its own.)
 */
export const contentId = (bytes) => ({ root: u8aToHex(blake3(bytes)), length: bytes.length });

/** A content id as the chain returns it (codec or plain object) → `{ root, length }`. */
export const idOf = (id) => ({ root: id.root.toHex ? id.root.toHex() : id.root, length: Number(id.length.toString()) });

/** The text form the data plane uses: `<64 hex>:<size>`. */
export const idText = (id) => { const { root, length } = idOf(id); return `${root.replace(/^0x/, '')}:${length}`; };

/** Parse `<64 hex>:<size>` → `{ root, length }`. */
export function parseId(text) {
  const m = /^([0-9a-f]{64}):(\d+)$/.exec(text);
  if (!m) throw new Error(`'${text}' is not a content id (<64 hex>:<size>)`);
  return { root: `0x${m[1]}`, length: Number(m[2]) };
}

export const le = (n, bytes) => { const b = new Uint8Array(bytes); let v = BigInt(n); for (let i = 0; i < bytes; i++) { b[i] = Number(v & 0xffn); v >>= 8n; } return b; };

/**
 * The digest a replica of `round` reveals for output `output` (a content id) with `fuel`:
 * `blake2_256("gravity/result" ‖ output root ‖ output length u64 LE ‖ fuel u64 LE ‖ job u64 LE ‖
 * task u32 LE ‖ round u8)` (`gravity_protocol::result::result_digest`). A verified task's
 * `result` is `(output, fuel)`; recompute each replica's digest with its own round to audit its
 * reveal.
 */
export function resultDigest(output, fuel, job, task, round) {
  const { root, length } = idOf(output);
  return blake2AsHex(u8aConcat(new TextEncoder().encode('gravity/result'), hexToU8a(root), le(length, 8), le(fuel, 8), le(job, 8), le(task, 4), [round]), 256);
}

/**
 * What a replica seals before it reveals: `blake2_256(digest ‖ fuel u64 LE ‖ provider account id
 * (32 bytes) ‖ job u64 LE ‖ task u32 LE ‖ salt (32 bytes))` (`gravity_protocol::result::commitment`).
 */
export function commitmentOf(digest, fuel, provider, job, task, salt) {
  return blake2AsHex(u8aConcat(hexToU8a(digest), le(fuel, 8), decodeAddress(provider), le(job, 8), le(task, 4), salt), 256);
}
