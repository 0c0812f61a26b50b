import { monitorEventLoopDelay } from 'node:perf_hooks';
import { loadDeliveryConfig } from '../lib/config';
import { buildDependencies } from '../lib/dependencies';
import { processBatch } from '../lib/pipeline';
import { withTrustedCertificate } from '../dev/trustedCertificate';
import { workload } from '../dev/workload';
import { benchBatch, startLocalDelivery } from './harness';

/**
 * The longest the event loop waits while one big batch goes through processBatch: 1,000 events of the
 * realistic mix (2 KB median, a tail of 40–300 KB alerts and findings). `node dist/bench/eventLoop.js`
 */
withTrustedCertificate(__filename, async () => {
  const local = await startLocalDelivery();
  try {
    const deps = await buildDependencies(loadDeliveryConfig(local.env));
    for (const size of [100, 1000]) {
      const bodies = [...workload({ count: size, seed: 5 })];
      const megabytes = bodies.reduce((n, b) => n + Buffer.byteLength(b), 0) / 1e6;
      const histogram = monitorEventLoopDelay({ resolution: 1 });
      histogram.enable();
      const start = performance.now();
      const ledger = await processBatch(benchBatch(bodies), deps);
      const ms = performance.now() - start;
      histogram.disable();
      process.stdout.write(
        `${size} events (${megabytes.toFixed(1)} MB, ${ledger.split} split): ${ms.toFixed(0)} ms; event-loop delay max ${(histogram.max / 1e6).toFixed(1)} ms, p99 ${(histogram.percentile(99) / 1e6).toFixed(1)} ms\n`,
      );
    }
    return 0;
  } finally {
    await local.stop();
  }
});
