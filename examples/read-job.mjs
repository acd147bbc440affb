// Read a job's records with @polkadot/api: storage (market.jobs, market.tasks) and the runtime
// API (MarketApi.job / task / outputs), which must agree.
//   node examples/read-job.mjs <job> [ws://127.0.0.1:9944]
// Prints the job as JSON: status, escrow, and each task's phase, result and replicas.
import { ApiPromise, WsProvider } from '@polkadot/api';

const [jobArg, url = 'ws://127.0.0.1:9944'] = process.argv.slice(2);
if (jobArg === undefined) {
  console.error('usage: node examples/read-job.mjs <job> [rpc-url]');
  process.exit(2);
}
const job = Number(jobArg);
const api = await ApiPromise.create({ provider: new WsProvider(url), noInitWarn: true });
const stored = await api.query.market.jobs(job);
if (stored.isNone) {
  console.error(`there is no job ${job}`);
  process.exit(1);
}
const j = stored.unwrap();
const viaApi = await api.call.marketApi.job(job);
if (viaApi.unwrap().toHex() !== j.toHex()) throw new Error('MarketApi.job differs from market.jobs');
const outputs = await api.call.marketApi.outputs(job);
const tasks = [];
for (let i = 0; i < j.tasks.toNumber(); i++) {
  const t = (await api.query.market.tasks(job, i)).unwrap();
  tasks.push({
    task: i, phase: t.phase.type, result: t.result.isSome ? t.result.unwrap().toJSON() : null,
    output: outputs[i].isSome ? outputs[i].unwrap().toJSON() : null,
    replicas: t.replicas.map((r) => ({ provider: r.provider.toString(), round: r.round.toNumber(), outcome: r.outcome.isSome ? r.outcome.unwrap().type : 'open', paid: r.paid.toString() })),
  });
}
console.log(JSON.stringify({ job, status: j.status.type, requester: j.requester.toString(), escrow: { locked: j.escrow.locked.toString(), paid: j.escrow.paid.toString(), refunded: j.escrow.refunded.toString() }, tasks }, null, 1));
await api.disconnect();
