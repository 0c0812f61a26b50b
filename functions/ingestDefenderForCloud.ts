import { app } from '@azure/functions';
import { withBinaryBodies } from './handlers/eventHubTrigger';
import { BATCH_RETRY } from './handlers/retry';
import { ingestHandler } from './handlers/ingest';
import { workerDependencies } from './handlers/workerDependencies';

/** Defender for Cloud continuous export: alerts, recommendations, findings, scores, compliance, attack paths. */
export const ingestDefenderForCloud = ingestHandler(workerDependencies);

app.eventHub(
  'ingestDefenderForCloud',
  withBinaryBodies({
    connection: 'EventHubConnection',
    eventHubName: '%DEFENDER_CLOUD_EVENTHUB%',
    consumerGroup: '%EVENTHUB_CONSUMER_GROUP%',
    cardinality: 'many',
    retry: BATCH_RETRY,
    handler: async (messages, context) => {
      await ingestDefenderForCloud(messages as unknown[], context);
    },
  }),
);
