import { startAzurite, type Azurite } from '../dev/azurite';
import { startStandInProcess, type StandInProcess } from '../dev/logsIngestionServerProcess';
import type { Batch } from '../lib/pipeline';

/** `--name value` from the command line of a benchmark script, as a number. */
export function numberArg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

/** Peak resident set size of this process so far, in MB (the kernel's own high-water mark). */
export const peakRssMb = () => process.resourceUsage().maxRSS / 1024;

export interface LocalDelivery {
  standIn: StandInProcess;
  azurite: Azurite;
  /** Settings for the pipeline against both. */
  env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

/** The https Logs Ingestion stand-in (its own process) and Azurite, for a benchmark run under withTrustedCertificate. */
export async function startLocalDelivery(): Promise<LocalDelivery> {
  const standIn = await startStandInProcess(
    process.env.DEFENDER_EXPORT_DEV_CERT!,
    process.env.DEFENDER_EXPORT_DEV_KEY!,
  );
  const azurite = await startAzurite();
  return {
    standIn,
    azurite,
    env: {
      AzureWebJobsStorage: azurite.connectionString(),
      LOGS_INGESTION_ENDPOINT: standIn.url,
      LOGS_DCR_IMMUTABLE_ID: standIn.ruleId,
      LOCAL_DEV_BEARER_TOKEN: standIn.token,
    },
    stop: async () => {
      await standIn.stop();
      await azurite.stop();
    },
  };
}

/** One Event Hub batch of these bodies, as partition 0 of hub `bench` would deliver it. */
export function benchBatch(bodies: ReadonlyArray<string | Buffer>): Batch {
  return {
    source: 'bench',
    partitionId: '0',
    messages: bodies.map((body, i) => ({ body, sequenceNumber: i, enqueuedTimeUtc: '2026-11-24T10:00:00Z' })),
  };
}
