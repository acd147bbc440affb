#!/usr/bin/env node
// Make a Gravity testnet: keys for its validators and providers, and its raw chain spec.
//
//   node deploy/testnet/make-testnet.mjs [--out DIR] [--validators 3] [--providers 3]
//                                         [--host-prefix validator-] [--boot-addrs A1,A2,...]
//                                         [--node BIN]
//
// What it does, the way chain-spec-builder does it: export the runtime's `testnet` preset as a
// plain spec (`gravity-node export-chain-spec --chain testnet-template`), generate a secret phrase per
// validator and per provider (session keys are derived from it: `//babe` sr25519, `//grandpa`
// ed25519; a provider's `grav` key is its account key), patch the genesis with their public keys,
// bonds and the boot nodes (`/dns/<host-prefix><n>/tcp/30333/p2p/<peer id>`, or the addresses
// `--boot-addrs` lists, one per validator, e.g. `/ip4/203.0.113.7/tcp/30333`), and convert the
// result to the raw spec every node starts from. Each node's base path is prepared with its
// network key and its keystore, so that the nodes of `deploy/compose.yaml` (or of a systemd
// install, one machine each) start with `--chain <spec> --base-path <dir>` and nothing else.
//
// Out (default `deploy/testnet/out/`, never committed):
//   spec.json                  the raw chain spec to publish (genesis, boot nodes)
//   spec.plain.json            the plain spec it was made from (readable; the patch applied)
//   validator-<n>/, provider-<n>/   base paths: network key, keystore (chains/gravity_testnet/)
//   secrets.json               every secret phrase (mode 600): keep it offline
//   compose.env                the peer ids, for deploy/compose.yaml
//
// It refuses to overwrite an existing DIR (a testnet's keys are made once).

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync, readFileSync, chmodSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeAddress, encodeAddress } from '@polkadot/util-crypto';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');

function parse(argv) {
  const o = { out: path.join(here, 'out'), validators: 3, providers: 3, hostPrefix: 'validator-', bootAddrs: null, node: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => {
      if (i + 1 >= argv.length) fail(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--out') o.out = path.resolve(v());
    else if (a === '--validators') o.validators = Number(v());
    else if (a === '--providers') o.providers = Number(v());
    else if (a === '--host-prefix') o.hostPrefix = v();
    else if (a === '--boot-addrs') o.bootAddrs = v().split(',').map((x) => x.trim().replace(/\/$/, ''));
    else if (a === '--node') o.node = path.resolve(v());
    else if (a === '--help' || a === '-h') { console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 25).map((l) => l.replace(/^\/\/ ?/, '')).join('\n')); process.exit(0); }
    else fail(`unknown option ${a} (see --help)`);
  }
  if (!Number.isInteger(o.validators) || o.validators < 1 || o.validators > 32) fail('--validators must be 1 to 32 (the runtime\'s MaxValidators)');
  if (!Number.isInteger(o.providers) || o.providers < 0 || o.providers > 100) fail('--providers must be 0 to 100');
  if (o.bootAddrs) {
    if (o.bootAddrs.length !== o.validators) fail(`--boot-addrs lists ${o.bootAddrs.length} addresses for ${o.validators} validators: give one per validator`);
    for (const a of o.bootAddrs) {
      if (!/^\/(ip4|ip6|dns|dns4|dns6)\/[^/]+\/tcp\/\d+$/.test(a)) fail(`--boot-addrs: '${a}' is not a multiaddr like /ip4/203.0.113.7/tcp/30333 or /dns/v1.example.org/tcp/30333`);
    }
  }
  return o;
}

function fail(msg) {
  console.error(`make-testnet: ${msg}`);
  process.exit(2);
}

const opts = parse(process.argv.slice(2));
const target = process.env.CARGO_TARGET_DIR || (existsSync('/var/tmp/gravity-target') ? '/var/tmp/gravity-target' : path.join(root, 'target'));
const NODE = opts.node || path.join(target, 'release', 'gravity-node');
if (!existsSync(NODE)) fail(`no gravity-node at ${NODE}: build it with scripts/build.sh, or name it with --node`);
if (existsSync(opts.out)) fail(`${opts.out} exists: a testnet's keys are made once (move it away to make another)`);

const run = (args) => {
  try {
    return execFileSync(NODE, args, { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 << 20, encoding: 'utf8' });
  } catch (e) {
    fail(`gravity-node ${args.slice(0, 3).join(' ')} failed: ${(e.stderr || e.message).toString().trim().split('\n').pop()}`);
  }
};
const runStderr = (args) => {
  // generate-node-key prints the peer id on stderr.
  const r = spawnSync(NODE, args, { encoding: 'utf8' });
  if (r.status !== 0) fail(`gravity-node ${args.join(' ')} failed: ${r.stderr.trim()}`);
  return r.stderr.trim().split('\n').pop().trim();
};

const json = (args) => JSON.parse(run(args));
const newPhrase = () => json(['key', 'generate', '--scheme', 'sr25519', '--words', '24', '--output-type', 'json']).secretPhrase;
const inspect = (suri, scheme) => json(['key', 'inspect', '--scheme', scheme, '--output-type', 'json', suri]);

mkdirSync(opts.out, { recursive: true });
const plain = JSON.parse(run(['export-chain-spec', '--chain', 'testnet-template']));
// Where a node looks for its network key by default.
const nodeKeyFile = (base) => {
  const dir = path.join(base, 'chains', plain.id, 'network');
  mkdirSync(dir, { recursive: true });
  return path.join(dir, 'secret_ed25519');
};
const preset = plain.genesis?.runtimeGenesis;
if (!preset) fail('the exported testnet spec has no runtimeGenesis (is this binary built with the testnet preset?)');

const UNIT = 10n ** 12n;
// Accounts as the chain writes them (SS58 prefix 7007, from the spec's properties).
const SS58 = plain.properties?.ss58Format ?? 42;
const chainAddress = (a) => encodeAddress(decodeAddress(a), SS58);
const secrets = { validators: [], providers: [], sudo: null };
const validators = [];
const providers = [];
const bootNodes = [];
const peers = {};

// The sudo key (the testnet's admin until governance): admits validators.
const sudoPhrase = newPhrase();
const sudo = inspect(sudoPhrase, 'sr25519');
secrets.sudo = { phrase: sudoPhrase, account: chainAddress(sudo.ss58Address) };

for (let n = 1; n <= opts.validators; n++) {
  const name = `validator-${n}`;
  const phrase = newPhrase();
  const account = inspect(phrase, 'sr25519');
  const babe = inspect(`${phrase}//babe`, 'sr25519');
  const grandpa = inspect(`${phrase}//grandpa`, 'ed25519');
  const base = path.join(opts.out, name);
  const peer = runStderr(['key', 'generate-node-key', '--file', nodeKeyFile(base)]);
  peers[name] = peer;
  const addr = opts.bootAddrs ? opts.bootAddrs[n - 1] : `/dns/${opts.hostPrefix}${n}/tcp/30333`;
  bootNodes.push(`${addr}/p2p/${peer}`);
  validators.push({ name, account: account.ss58Address, babe: babe.ss58Address, grandpa: grandpa.ss58Address, phrase });
  secrets.validators.push({ name, phrase, account: chainAddress(account.ss58Address), peer });
}
for (let n = 1; n <= opts.providers; n++) {
  const name = `provider-${n}`;
  const phrase = newPhrase();
  const account = inspect(phrase, 'sr25519');
  const base = path.join(opts.out, name);
  const peer = runStderr(['key', 'generate-node-key', '--file', nodeKeyFile(base)]);
  peers[name] = peer;
  providers.push({ name, account: account.ss58Address, phrase });
  secrets.providers.push({ name, phrase, account: chainAddress(account.ss58Address), peer });
}

// The genesis patch, over the preset's own (sessions, BABE configuration). Balances are
// integers beyond 2^53: they are written as JSON numbers through a marker (see `big`).
const patch = preset.patch || {};
const big = (n) => `@big:${n}`;
const validatorBond = 10_000n * UNIT; // the runtime's MinValidatorBond
const providerBond = 1_000n * UNIT;
patch.balances = {
  balances: [
    ...(patch.balances?.balances || []),
    [sudo.ss58Address, big(1_000_000n * UNIT)],
    ...validators.map((v) => [v.account, big(20_000n * UNIT)]),
    ...providers.map((p) => [p.account, big(10_000n * UNIT)]),
  ],
};
patch.validators = { ...(patch.validators || {}), validators: validators.map((v) => [v.account, big(validatorBond)]) };
patch.session = { keys: validators.map((v) => [v.account, v.account, { babe: v.babe, grandpa: v.grandpa }]) };
patch.sudo = { key: sudo.ss58Address };
if (providers.length) {
  // What each provider declares until it updates itself on chain (`providers.update`).
  const caps = {
    device: 'Server', arch: 'X86_64', cores: 2, memory_mib: 4096, gpu_model: [], gpu_score: 0,
    bandwidth_mbps: 1000, region: [...Buffer.from('testnet')], max_concurrent: 2,
  };
  patch.providers = { providers: providers.map((p) => [p.account, caps, big(providerBond)]) };
}
plain.genesis.runtimeGenesis = { code: preset.code, patch };
delete plain.genesis.runtimeGenesis.presetName;
plain.bootNodes = bootNodes;
const plainFile = path.join(opts.out, 'spec.plain.json');
writeFileSync(plainFile, JSON.stringify(plain, null, 2).replace(/"@big:(\d+)"/g, '$1'));
const raw = run(['export-chain-spec', '--chain', plainFile, '--raw']);
const specFile = path.join(opts.out, 'spec.json');
writeFileSync(specFile, raw);

// Keystores: each node holds only its own keys.
for (const v of validators) {
  const base = path.join(opts.out, v.name);
  run(['key', 'insert', '--base-path', base, '--chain', specFile, '--key-type', 'babe', '--scheme', 'sr25519', '--suri', `${v.phrase}//babe`]);
  run(['key', 'insert', '--base-path', base, '--chain', specFile, '--key-type', 'gran', '--scheme', 'ed25519', '--suri', `${v.phrase}//grandpa`]);
}
for (const p of providers) {
  run(['key', 'insert', '--base-path', path.join(opts.out, p.name), '--chain', specFile, '--key-type', 'grav', '--scheme', 'sr25519', '--suri', p.phrase]);
}
const secretsFile = path.join(opts.out, 'secrets.json');
writeFileSync(secretsFile, JSON.stringify(secrets, null, 2));
chmodSync(secretsFile, 0o600);
writeFileSync(path.join(opts.out, 'compose.env'),
  Object.entries(peers).map(([k, v]) => `${k.toUpperCase().replace('-', '_')}_PEER=${v}`).join('\n') + '\n');

console.log(`testnet made in ${opts.out}`);
console.log(`  spec:       ${specFile} (chain id ${JSON.parse(raw).id}, ${bootNodes.length} boot nodes)`);
console.log(`  validators: ${validators.map((v) => chainAddress(v.account)).join(', ')}`);
console.log(`  providers:  ${providers.map((p) => chainAddress(p.account)).join(', ') || '(none)'}`);
console.log(`  sudo:       ${chainAddress(sudo.ss58Address)}`);
console.log(`  secrets:    ${secretsFile} (mode 600: keep it offline)`);
