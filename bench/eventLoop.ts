import { monitorEventLoopDelay } from 'node:perf_hooks';
import { loadConfig } from '../lib/config';
import { buildDependencies } from '../lib/dependencies';
import { processBatch } from '../lib/pipeline';
import { startAzurite } from '../dev/azurite';
import { startStandInProcess } from '../dev/logsIngestionServerProcess';
import { withTrustedCertificate } from '../dev/trustedCertificate';
import { workload } from '../dev/workload';

/**
 * The longest the event loop waits while one big batch goes through processBatch: 1,000 events of the
 * realistic mix (2 KB median, a tail of 40–300 KB alerts and findings). `node dist/bench/eventLoop.js`
 */
withTrustedCertificate(__filename, async () => {
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
    for (const size of [100, 1000]) {
      const bodies = [...workload({ count: size, seed: 5 })];
      const megabytes = bodies.reduce((n, b) => n + Buffer.byteLength(b), 0) / 1e6;
      const histogram = monitorEventLoopDelay({ resolution: 1 });
      histogram.enable();
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
      const ms = performance.now() - start;
      histogram.disable();
      process.stdout.write(
        `${size} events (${megabytes.toFixed(1)} MB, ${ledger.split} split): ${ms.toFixed(0)} ms; event-loop delay max ${(histogram.max / 1e6).toFixed(1)} ms, p99 ${(histogram.percentile(99) / 1e6).toFixed(1)} ms\n`,
      );
    }
    return 0;
  } finally {
    await standIn.stop();
    await azurite.stop();
  }
});
