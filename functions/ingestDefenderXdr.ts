import { app } from '@azure/functions';
import { withBinaryBodies } from './handlers/eventHubTrigger';
import { BATCH_RETRY } from './handlers/retry';
import { ingestHandler } from './handlers/ingest';
import { workerDependencies } from './handlers/workerDependencies';

/** Defender XDR streaming API: advanced-hunting events in `{"records":[...]}` envelopes. */
export const ingestDefenderXdr = ingestHandler(workerDependencies);

app.eventHub(
  'ingestDefenderXdr',
  withBinaryBodies({
    connection: 'EventHubConnection',
    eventHubName: '%DEFENDER_XDR_EVENTHUB%',
    consumerGroup: '%EVENTHUB_CONSUMER_GROUP%',
    cardinality: 'many',
    retry: BATCH_RETRY,
    handler: async (messages, context) => {
      await ingestDefenderXdr(messages as unknown[], context);
    },
  }),
);
