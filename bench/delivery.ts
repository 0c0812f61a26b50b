import { LogsIngestionClient } from '@azure/monitor-ingestion';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { replayCommand } from '../lib/cli/replayCommand';
import { credentialFor } from '../lib/azure/credentials';
import { loadConfig } from '../lib/config';
import { buildDependencies } from '../lib/dependencies';
import { fitRow } from '../lib/fit/fit';
import { normalizeMessage } from '../lib/records/normalize';
import type { LogsRow } from '../lib/records/row';
import { startAzurite } from '../dev/azurite';
import { startStandInProcess } from '../dev/logsIngestionServerProcess';
import { withTrustedCertificate } from '../dev/trustedCertificate';
import { workload } from '../dev/workload';

/**
 * Delivery throughput, measured in one run against the https Logs Ingestion stand-in (in its own process):
 * the bare SDK uploading pre-built rows, and replay through the Event Hub handler (logs route only) at the
 * SDK's gzip level and at level 1. `node dist/bench/delivery.js [--count 100000] [--bytes 2048]`.
 */
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};

withTrustedCertificate(__filename, async () => {
  const count = arg('count', 100_000);
  const bytes = arg('bytes', 2048);
  const partitions = arg('partitions', 4);
  const standIn = await startStandInProcess(
    process.env.DEFENDER_EXPORT_DEV_CERT!,
    process.env.DEFENDER_EXPORT_DEV_KEY!,
  );
  const azurite = await startAzurite();
  try {
    const dir = mkdtempSync(join(tmpdir(), 'defender-export-bench-'));
    const file = join(dir, 'events.ndjson');
    const bodies = [...workload({ count, bytes, seed: 3 })];
    writeFileSync(file, `${bodies.join('\n')}\n`);
    const megabytes = statSync(file).size / 1e6;
    const enqueuedTime = '2026-11-24T10:00:00.000Z';
    const rows: LogsRow[] = bodies.flatMap((body) =>
      normalizeMessage(body, { enqueuedTimeUtc: enqueuedTime }).events.flatMap(
        (event) => fitRow(event, { limit: 32_768, strategy: 'split', archiveBlob: '' }).rows,
      ),
    );
    const env: NodeJS.ProcessEnv = {
      AzureWebJobsStorage: azurite.connectionString(),
      LOGS_INGESTION_ENDPOINT: standIn.url,
      LOGS_DCR_IMMUTABLE_ID: standIn.ruleId,
      LOCAL_DEV_BEARER_TOKEN: standIn.token,
      ROUTES: JSON.stringify([{ to: ['logs'] }]),
    };
    const results: Array<{ name: string; seconds: number; delivered: number }> = [];
    const measure = async (name: string, run: () => Promise<void>) => {
      const before = (await standIn.stats()).accepted;
      global.gc?.();
      const start = process.hrtime.bigint();
      await run();
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      results.push({ name, seconds, delivered: (await standIn.stats()).accepted - before });
    };

    const bare = new LogsIngestionClient(standIn.url, credentialFor(env));
    const replay = async (gzipLevel: number) => {
      const deps = await buildDependencies(loadConfig(env), env, { gzipLevel });
      const io = { stdin: process.stdin, stdout: new PassThrough(), stderr: new PassThrough(), env };
      io.stdout.resume();
      io.stderr.resume();
      await replayCommand(
        [file],
        { source: 'bench', enqueuedTime, batchSize: 100, partitions, json: false },
        io,
        deps,
      );
    };
    for (let round = 1; round <= 2; round++) {
      await measure(`bare LogsIngestionClient.upload (gzip 6), round ${round}`, () =>
        bare.upload(standIn.ruleId, 'Custom-DefenderExport', rows as never),
      );
      await measure(`replay, handler path, gzip 6, round ${round}`, () => replay(-1));
      await measure(`replay, handler path, gzip 1, round ${round}`, () => replay(1));
    }

    process.stdout.write(
      `${count} events of ${bytes} bytes (${megabytes.toFixed(1)} MB), ${rows.length} rows, replay with ${partitions} partitions of 100-event batches\n`,
    );
    for (const r of results) {
      process.stdout.write(
        `${r.name.padEnd(48)} ${r.seconds.toFixed(2).padStart(7)} s ${(count / r.seconds).toFixed(0).padStart(8)} events/s ${(megabytes / r.seconds).toFixed(1).padStart(6)} MB/s  delivered ${r.delivered}\n`,
      );
    }
    return results.every((r) => r.delivered === rows.length) ? 0 : 1;
  } finally {
    await standIn.stop();
    await azurite.stop();
  }
});
