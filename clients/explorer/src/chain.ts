// The connection to a Gravity node: one @polkadot/api instance, its state shown in the header,
// live heads for the pages. @polkadot/api decodes every block with the metadata of the runtime
// that produced it (it fetches the metadata of each spec version it meets), so blocks on both
// sides of a runtime upgrade decode correctly.
import { ApiPromise, WsProvider } from '@polkadot/api';

export type Config = { rpc: string; genesis: string | null; data: boolean; reverify: boolean };

export type Conn =
  | { kind: 'connecting'; message: string }
  | { kind: 'connected'; message: string }
  | { kind: 'lost'; message: string }
  | { kind: 'wrong-chain'; message: string };

export type Head = { number: number; hash: string };

let api: ApiPromise | null = null;
let wsProvider: WsProvider | null = null;
let config: Config;
let state: Conn = { kind: 'connecting', message: 'connecting…' };
let best: Head | null = null;
let finalized: Head | null = null;
const connListeners = new Set<(c: Conn) => void>();
const headListeners = new Set<(best: Head, finalized: Head | null) => void>();

// Typed loosely: the runtime's types come from its metadata at run time (no generated augmentation).
export const getApi = (): any => {
  if (!api || state.kind !== 'connected') throw new Error(state.message);
  return api;
};
/**
 * A raw RPC call, its JSON result undecoded: `chain_getHeader` of an unknown hash answers null
 * here, where the decorated `api.rpc` call logs an error to the console before it throws.
 */
export async function rawCall(method: string, params: unknown[]): Promise<any> {
  if (!wsProvider || state.kind !== 'connected') throw new Error(state.message);
  return wsProvider.send(method, params);
}
export const conn = () => state;
export const cfg = () => config;
export const bestHead = () => best;
export const finalizedHead = () => finalized;

function set(c: Conn) {
  state = c;
  for (const f of connListeners) f(c);
}

export function onConn(f: (c: Conn) => void) {
  connListeners.add(f);
  return () => connListeners.delete(f);
}

/** Called with every new best head (and the latest finalized one). */
export function onHead(f: (best: Head, finalized: Head | null) => void) {
  headListeners.add(f);
  return () => headListeners.delete(f);
}

async function loadConfig(): Promise<Config> {
  let c: Config = { rpc: 'ws://127.0.0.1:9944', genesis: null, data: false, reverify: false };
  try {
    const r = await fetch('/config.json', { cache: 'no-store' });
    if (r.ok) c = { ...c, ...(await r.json()) };
  } catch {
    /* served without serve.mjs: defaults */
  }
  const q = new URLSearchParams(location.search).get('rpc');
  if (q) c.rpc = q;
  return c;
}

/** Connect and keep connected: a lost node is retried every 2 s and the page told. */
export async function start() {
  config = await loadConfig();
  const provider = new WsProvider(config.rpc, 2000);
  wsProvider = provider;
  const slow = setTimeout(() => {
    if (state.kind === 'connecting') set({ kind: 'connecting', message: `cannot reach a Gravity node at ${config.rpc}: retrying every 2 s (start one with ./scripts/start.sh, or open this page with ?rpc=ws://host:port)` });
  }, 3000);
  set({ kind: 'connecting', message: `connecting to ${config.rpc}…` });
  provider.on('disconnected', () => {
    if (state.kind === 'connected') set({ kind: 'lost', message: `lost the connection to ${config.rpc}: reconnecting every 2 s (what is shown is as of block #${best?.number ?? '?'})` });
  });
  provider.on('error', () => {
    if (state.kind === 'connecting' && performance.now() > 3000) set({ kind: 'connecting', message: `cannot reach a Gravity node at ${config.rpc}: retrying every 2 s (start one with ./scripts/start.sh, or open this page with ?rpc=ws://host:port)` });
  });
  api = new ApiPromise({ provider, noInitWarn: true, throwOnConnect: false });
  api.on('ready', () => checkAndGo(slow));
  api.on('connected', () => {
    // After a reconnect, @polkadot/api emits 'ready' again once metadata is (re)checked.
    if (state.kind === 'lost' && api?.isConnected) void checkAndGo(slow);
  });
}

let subscribed = false;

async function checkAndGo(slow: ReturnType<typeof setTimeout>) {
  if (!api) return;
  clearTimeout(slow);
  try {
    const genesis = api.genesisHash.toHex();
    const spec = api.runtimeVersion.specName.toString();
    if (!api.query.market || !api.query.providers) {
      return set({ kind: 'wrong-chain', message: `the node at ${config.rpc} is not a Gravity node: its runtime is '${spec}' (genesis ${genesis}) with no market pallet. Point this explorer at a Gravity node (?rpc=ws://host:port).` });
    }
    if (config.genesis && config.genesis !== genesis) {
      return set({ kind: 'wrong-chain', message: `the node at ${config.rpc} is on another chain: its genesis is ${genesis}, this explorer is for ${config.genesis}.` });
    }
    // The heads before the first page draws (finality badges, "does block #n exist").
    const [head, finHash] = await Promise.all([api.rpc.chain.getHeader(), api.rpc.chain.getFinalizedHead()]);
    const fin = await api.rpc.chain.getHeader(finHash);
    if (!best || head.number.toNumber() > best.number) best = { number: head.number.toNumber(), hash: head.hash.toHex() };
    if (!finalized || fin.number.toNumber() > finalized.number) finalized = { number: fin.number.toNumber(), hash: finHash.toHex() };
    set({ kind: 'connected', message: `${spec} v${api.runtimeVersion.specVersion.toNumber()} at ${config.rpc}` });
    if (!subscribed) {
      subscribed = true;
      // Subscriptions are re-established by @polkadot/api after a reconnect.
      await api.rpc.chain.subscribeFinalizedHeads((h) => {
        finalized = { number: h.number.toNumber(), hash: h.hash.toHex() };
      });
      await api.rpc.chain.subscribeNewHeads((h) => {
        best = { number: h.number.toNumber(), hash: h.hash.toHex() };
        if (state.kind === 'lost') set({ kind: 'connected', message: `reconnected to ${config.rpc}` });
        for (const f of headListeners) f(best, finalized);
      });
    }
  } catch (e: any) {
    set({ kind: 'lost', message: `reading the node at ${config.rpc} failed: ${e.message}` });
  }
}
