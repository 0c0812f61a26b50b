import { readFileSync } from 'node:fs';
import { loadDeliveryConfig } from '../lib/config';
import { buildDependencies } from '../lib/dependencies';
import { processBatch } from '../lib/pipeline';
import { withTrustedCertificate } from '../dev/trustedCertificate';
import { benchBatch, peakRssMb, startLocalDelivery } from './harness';

/**
 * Peak memory of one batch through processBatch, logs and archive, in a process of its own so nothing else
 * counts. The bodies are read from an NDJSON file (`--file`, written by bench/run.ts) as bytes, the way the
 * Event Hub trigger hands them over (dataType binary), so the process holds the input once and never the
 * garbage of generating it. Prints one JSON line. `node dist/bench/memory.js --file events.ndjson`
 */
withTrustedCertificate(__filename, async () => {
  const fileIndex = process.argv.indexOf('--file');
  const file = fileIndex > 0 ? process.argv[fileIndex + 1] : undefined;
  if (!file) throw new Error('usage: memory.js --file <events.ndjson>');
  const local = await startLocalDelivery();
  try {
    const deps = await buildDependencies(loadDeliveryConfig(local.env));
    const baselineMb = peakRssMb();
    const content = readFileSync(file);
    const bodies: Buffer[] = [];
    for (let start = 0; start < content.length;) {
      const end = content.indexOf(0x0a, start);
      const stop = end < 0 ? content.length : end;
      if (stop > start) bodies.push(content.subarray(start, stop));
      start = stop + 1;
    }
    const inputMb = content.length / 1e6;
    const start = performance.now();
    const cpu = process.cpuUsage();
    const ledger = await processBatch(benchBatch(bodies), deps);
    const used = process.cpuUsage(cpu);
    const seconds = (performance.now() - start) / 1000;
    const delivered = Object.values(ledger.destinations).every((d) => d.delivered === bodies.length);
    const result = {
      events: bodies.length,
      inputMb,
      seconds,
      cpuSeconds: (used.user + used.system) / 1e6,
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
