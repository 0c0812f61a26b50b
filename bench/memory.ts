import { loadConfig } from '../lib/config';
import { buildDependencies } from '../lib/dependencies';
import { processBatch } from '../lib/pipeline';
import { startAzurite } from '../dev/azurite';
import { startStandInProcess } from '../dev/logsIngestionServerProcess';
import { withTrustedCertificate } from '../dev/trustedCertificate';
import { workload } from '../dev/workload';
import { numberArg, peakRssMb } from './args';

/**
 * Peak memory of one big batch (default 100 events of 1 MB) through processBatch, logs and archive, in a
 * process of its own so nothing else counts. Prints one JSON line. `node dist/bench/memory.js`
 */
withTrustedCertificate(__filename, async () => {
  const count = numberArg('events', 100);
  const bytes = numberArg('bytes', 1_000_000);
  const standIn = await startStandInProcess(
    process.env.DEFENDER_EXPORT_DEV_CERT!,
    process.env.DEFENDER_EXPORT_DEV_KEY!,
  );
  const azurite = await startAzurite();
  try {
    const env = {
      AzureWebJobsStorage: azurite.connectionString(),
      LOGS_INGESTION_ENDPOINT: standIn.url,
      LOGS_DCR_IMMUTABLE_ID: standIn.ruleId,
      LOCAL_DEV_BEARER_TOKEN: standIn.token,
    };
    const deps = await buildDependencies(loadConfig(env), env);
    const baselineMb = peakRssMb();
    const bodies = [...workload({ count, bytes, seed: 11 })];
    const inputMb = bodies.reduce((n, b) => n + Buffer.byteLength(b), 0) / 1e6;
    const start = performance.now();
    const ledger = await processBatch(
      {
        source: 'bench',
        partitionId: '0',
        messages: bodies.map((body, i) => ({
          body,
          sequenceNumber: i,
          enqueuedTimeUtc: '2026-11-24T10:00:00Z',
        })),
      },
      deps,
    );
    const seconds = (performance.now() - start) / 1000;
    const delivered = Object.values(ledger.destinations).every((d) => d.delivered === count);
    process.stdout.write(
      `${JSON.stringify({ events: count, inputMb, seconds, peakRssMb: peakRssMb(), baselineMb, boundMb: 3 * inputMb + 200, delivered, split: ledger.split })}\n`,
    );
    return delivered ? 0 : 1;
  } finally {
    await standIn.stop();
    await azurite.stop();
  }
});
