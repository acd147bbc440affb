// Follow a job's events block by block until it ends, with @polkadot/api.
//   node examples/follow-job.mjs <job> [ws://127.0.0.1:9944]
// Prints one line per market event of the job, then its final status.
import { ApiPromise, WsProvider } from '@polkadot/api';

const [jobArg, url = 'ws://127.0.0.1:9944'] = process.argv.slice(2);
if (jobArg === undefined) {
  console.error('usage: node examples/follow-job.mjs <job> [rpc-url]');
  process.exit(2);
}
const job = Number(jobArg);
const api = await ApiPromise.create({ provider: new WsProvider(url), noInitWarn: true });
await new Promise((resolve) => {
  let unsub;
  api.rpc.chain.subscribeNewHeads(async (header) => {
    const at = await api.at(header.hash);
    for (const { event, phase } of await at.query.system.events()) {
      if (event.section !== 'market' || event.data.job?.toNumber() !== job) continue;
      const where = phase.isApplyExtrinsic ? `#${header.number}-${phase.asApplyExtrinsic}` : `#${header.number}`;
      console.log(`${where} ${event.method} ${JSON.stringify(event.data.toHuman())}`);
    }
    const j = (await at.query.market.jobs(job)).unwrap();
    if (!j.status.isActive) {
      console.log(`job ${job}: ${j.status.type}`);
      unsub?.();
      resolve();
    }
  }).then((u) => (unsub = u));
});
await api.disconnect();
