import { loadDeliveryConfig } from '../lib/config';
import { buildDependencies } from '../lib/dependencies';
import { processBatch } from '../lib/pipeline';
import { withTrustedCertificate } from '../dev/trustedCertificate';
import { workload } from '../dev/workload';
import { benchBatch, numberArg, peakRssMb, startLocalDelivery } from './harness';

/**
 * Peak memory of one big batch (default 100 events of 1 MB) through processBatch, logs and archive, in a
 * process of its own so nothing else counts. Prints one JSON line. `node dist/bench/memory.js`
 */
withTrustedCertificate(__filename, async () => {
  const count = numberArg('events', 100);
  const bytes = numberArg('bytes', 1_000_000);
  const local = await startLocalDelivery();
  try {
    const deps = await buildDependencies(loadDeliveryConfig(local.env));
    const baselineMb = peakRssMb();
    const bodies = [...workload({ count, bytes, seed: 11 })];
    const inputMb = bodies.reduce((n, b) => n + Buffer.byteLength(b), 0) / 1e6;
    const start = performance.now();
    const ledger = await processBatch(benchBatch(bodies), deps);
    const seconds = (performance.now() - start) / 1000;
    const delivered = Object.values(ledger.destinations).every((d) => d.delivered === count);
    const result = {
      events: count,
      inputMb,
      seconds,
      peakRssMb: peakRssMb(),
      baselineMb,
      boundMb: 3 * inputMb + 200,
      delivered,
      split: ledger.split,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return delivered ? 0 : 1;
  } finally {
    await local.stop();
  }
});
