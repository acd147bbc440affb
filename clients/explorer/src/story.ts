// What a job's story is read from: its record and its tasks' records (chain state, which every
// step writes: the block of each assignment, commitment, reveal and settlement), and the block
// bodies those records name (kept by default nodes whatever their state pruning), where the
// extrinsic of each step is found by its signer and the job and task it acts on.
import { base58Encode } from '@polkadot/util-crypto';
import { ss58 } from './ui';

export type Step = { block: number; index: number | null; step: string; task?: number; provider?: string; call?: string };

export async function loadJob(api: any, id: number, at?: string) {
  const q = at ? await api.at(at) : api;
  const j = await q.query.market.jobs(id);
  if (j.isNone) {
    const next = (await api.query.market.nextJobId()).toNumber();
    throw new Error(`there is no job ${id} on this chain${next > 0 ? ` (job ids run from 0 to ${next - 1})` : ' (no job was submitted yet)'}: search for another id`);
  }
  const entries = await q.query.market.tasks.entries(id);
  const tasks = new Map<number, any>();
  for (const [k, v] of entries) tasks.set(k.args[1].toNumber(), v.unwrap());
  return { job: j.unwrap(), tasks: new Map([...tasks.entries()].sort((a, b) => a[0] - b[0])) };
}

export type Call = { index: number; signer: string | null; section: string; method: string; targets: [number, number | null][]; ext: any };

const bodies = new Map<number, Promise<Call[]>>();

/** The (job, task) pairs a market call acts on. */
function targets(section: string, method: string, args: any): [number, number | null][] {
  if (section !== 'market') return [];
  if (['commit', 'reveal', 'deliver', 'decline'].includes(method)) return [[args.job.toNumber(), args.task.toNumber()]];
  if (method === 'cancelJob') return [[args.job.toNumber(), null]];
  if (method === 'batch') {
    return args.actions.map((a: any) => {
      const inner = a[`as${a.type}`];
      return [inner.job.toNumber(), inner.task.toNumber()] as [number, number];
    });
  }
  return [];
}

/** The decoded extrinsics of block `n` (by number), cached. */
export function blockCalls(api: any, n: number): Promise<Call[]> {
  let p = bodies.get(n);
  if (!p) {
    p = (async () => {
      const hash = await api.rpc.chain.getBlockHash(n);
      const block = await api.rpc.chain.getBlock(hash);
      return block.block.extrinsics.map((ext: any, index: number) => {
        const { section, method } = ext.method;
        const named: any = {};
        ext.method.meta.args.forEach((a: any, i: number) => (named[a.name.toString().replace(/_(\w)/g, (_: string, c: string) => c.toUpperCase())] = ext.method.args[i]));
        let t: [number, number | null][] = [];
        try {
          t = targets(section, method, named);
        } catch {
          t = [];
        }
        return { index, signer: ext.isSigned ? ss58(ext.signer.toString()) : null, section, method, targets: t, ext };
      });
    })();
    p.catch(() => bodies.delete(n));
    bodies.set(n, p);
  }
  return p;
}

/** The extrinsic in block `n` (signed by `signer`, if given) whose market call names job/task. */
export async function findCall(api: any, n: number | null | undefined, signer: string | null, job: number, task: number | null, methods: string[]): Promise<Call | null> {
  if (n === null || n === undefined) return null;
  const calls = await blockCalls(api, n);
  return (
    calls.find(
      (c) =>
        (signer === null || c.signer === signer) &&
        (methods.includes(c.method) || (c.method === 'batch' && methods.length > 0)) &&
        (methods.includes('submitJob') ? c.method === 'submitJob' : c.targets.some(([j, t]) => j === job && (task === null || t === task))),
    ) ?? null
  );
}

/** The peer ids (base58) of providers' nodes, as the chain records them. */
export async function endpoints(api: any, accounts: string[]): Promise<string[]> {
  const list = await Promise.all(accounts.map((a) => api.query.providers.endpoints(a)));
  return list.filter((e: any) => e.isSome).map((e: any) => base58Encode(e.unwrap().toU8a(true)));
}

export const opt = (v: any): number | null => (v && v.isSome ? v.unwrap().toNumber() : null);

export const outcomeName = (o: any) => (o.isSome ? o.unwrap().type : 'Open');

export const phaseName = (p: any) => p.type;

export function agreeing(task: any): string[] {
  return task.replicas.filter((r: any) => r.outcome.isSome && r.outcome.unwrap().isAgreed).map((r: any) => ss58(r.provider.toString()));
}
