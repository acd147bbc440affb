#!/usr/bin/env node
// Run a Gravity validator: generate session keys on your own node, set them, bond and register,
// watch your status, leave and take your bond back. (Until the `gravity` CLI exists, this is the
// onboarding tool; docs/run-a-validator.md walks through it.)
//
//   node clients/js/validator.mjs keys     --node ws://127.0.0.1:9944 --suri "$SURI"
//   node clients/js/validator.mjs register --node ws://127.0.0.1:9944 --suri "$SURI" --bond 10000
//   node clients/js/validator.mjs status   --node ws://127.0.0.1:9944 --account <ss58>
//   node clients/js/validator.mjs leave    --node ... --suri "$SURI"
//   node clients/js/validator.mjs withdraw --node ... --suri "$SURI"
//   node clients/js/validator.mjs admit    --node ... --suri <sudo key> --account <ss58>   (the admin)
//
// `--suri` may be left out when GRAVITY_SURI is set (keep secrets out of shell history).
// `keys` must talk to the validator's own node: the keys are generated in *its* keystore, and
// the node must allow unsafe RPC to the caller (it does on loopback by default).
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady, decodeAddress } from '@polkadot/util-crypto';
import { u8aToHex } from '@polkadot/util';
import { connect, explain, send } from './gravity.mjs';

export const UNIT = 1_000_000_000_000n;

/**
 * Generate session keys in the keystore of the node `api` is connected to, bound to `owner`
 * (an SS58 address): `{ keys, proof }` as hex, ready for `session.setKeys(keys, proof)`.
 */
export async function rotateKeys(api, owner) {
  const res = await api._rpcCore.provider.send('author_rotateKeysWithOwner', [u8aToHex(decodeAddress(owner))]);
  if (!res.proof) throw new Error('the node did not return an ownership proof: is it a Gravity node of this runtime?');
  return { keys: res.keys, proof: res.proof };
}

/** Set session keys (from `rotateKeys`) for `signer`. */
export async function setKeys(api, signer, { keys, proof }) {
  return send(api, api.tx.session.setKeys(keys, proof), signer);
}

/** Bond `bond` plancks and ask to join. */
export async function register(api, signer, bond) {
  return send(api, api.tx.validators.register(bond), signer);
}

/** Where `who` stands: registry record, in the current / next session, disabled, slashed. */
export async function status(api, who) {
  const [record, current, queued, disabled, session] = await Promise.all([
    api.query.validators.members(who),
    api.query.session.validators(),
    api.query.session.queuedKeys(),
    api.query.session.disabledValidators(),
    api.query.session.currentIndex(),
  ]);
  const index = current.findIndex((v) => v.toString() === who);
  const out = {
    account: who,
    session: session.toNumber(),
    registered: record.isSome,
    inCurrentSession: index >= 0,
    inNextSession: queued.some(([v]) => v.toString() === who),
    disabled: index >= 0 && disabled.some(([i]) => i.toNumber() === index),
  };
  if (record.isSome) {
    const r = record.unwrap();
    Object.assign(out, {
      status: r.status.type,
      ...(r.status.isLeaving ? { unbondsAt: r.status.asLeaving.unbondsAt.toNumber(), cause: r.status.asLeaving.cause.type } : {}),
      bond: r.bond.toBigInt(),
      slashed: r.slashed.toBigInt(),
      blocksAuthored: r.blocksAuthored.toNumber(),
      registeredAt: r.registeredAt.toNumber(),
    });
  }
  return out;
}

function args(argv) {
  const out = { _: [] };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i].startsWith('--')) out[argv[i].slice(2)] = argv[i + 1]?.startsWith('--') || argv[i + 1] === undefined ? true : argv[++i];
    else out._.push(argv[i]);
  }
  return out;
}

const USAGE = 'usage: validator.mjs <keys|register|status|leave|withdraw|admit> --node <ws> [--suri <secret>] [--bond <GRAV>] [--account <ss58>]';

async function main() {
  const a = args(process.argv.slice(2));
  const cmd = a._[0];
  if (!cmd || a.help) { console.log(USAGE); return; }
  await cryptoWaitReady();
  const api = await connect(a.node ?? 'ws://127.0.0.1:9944');
  try {
    const suri = a.suri ?? process.env.GRAVITY_SURI;
    const signer = suri ? new Keyring({ type: 'sr25519', ss58Format: 7007 }).addFromUri(suri) : null;
    const need = () => { if (!signer) throw new Error(`${cmd} signs a transaction: pass --suri or set GRAVITY_SURI`); return signer; };
    switch (cmd) {
      case 'keys': {
        const s = need();
        const generated = await rotateKeys(api, s.address);
        await setKeys(api, s, generated);
        console.log(`session keys set for ${s.address}: ${generated.keys}`);
        break;
      }
      case 'register': {
        const bond = BigInt(a.bond ?? 10_000) * UNIT;
        await register(api, need(), bond);
        console.log(`registered ${need().address} with a bond of ${bond / UNIT} GRAV; waiting for admission`);
        break;
      }
      case 'status': {
        const who = a.account ?? need().address;
        const st = await status(api, who);
        console.log(JSON.stringify(st, (_, v) => (typeof v === 'bigint' ? v.toString() : v), 2));
        break;
      }
      case 'leave':
        await send(api, api.tx.validators.leave(), need());
        console.log('leaving: out of the set from the next planned session; `status` shows when the bond unbonds');
        break;
      case 'withdraw':
        await send(api, api.tx.validators.withdrawBond(), need());
        console.log('bond returned');
        break;
      case 'admit': {
        if (!a.account) throw new Error('admit needs --account <ss58>');
        const { events } = await send(api, api.tx.sudo.sudo(api.tx.validators.admit(a.account)), need());
        const sudid = events.find(({ event }) => api.events.sudo.Sudid.is(event));
        if (sudid && sudid.event.data.sudoResult.isErr) throw new Error(`admit failed: ${explain(api, sudid.event.data.sudoResult.asErr)}`);
        console.log(`admitted ${a.account}`);
        break;
      }
      default:
        throw new Error(`unknown command ${cmd}\n${USAGE}`);
    }
  } finally {
    await api.disconnect();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e) => { console.error(`error: ${e.message}`); process.exit(1); });
}
