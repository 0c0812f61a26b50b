import type { InvocationContext } from '@azure/functions';
import type { Dependencies } from '../../lib/dependencies';
import type { Ledger } from '../../lib/ledger';
import { processBatch } from '../../lib/pipeline';
import { batchFromTrigger } from './eventHubBatch';

export type IngestHandler = (messages: unknown[], context: InvocationContext) => Promise<Ledger>;

/**
 * The Event Hub function body: trigger input to a batch, the batch through the pipeline, the ledger out
 * as one structured log line (an error line when it does not add up). Replay calls this same function.
 */
export function ingestHandler(dependencies: () => Promise<Dependencies>): IngestHandler {
  return async (messages, context) => {
    const deps = await dependencies();
    const batch = batchFromTrigger(messages, context.triggerMetadata, context.functionName, deps.clock());
    const ledger = await processBatch(batch, deps);
    const line = JSON.stringify({
      ledger,
      source: batch.source,
      partitionId: batch.partitionId,
      firstSequenceNumber: batch.messages[0]?.sequenceNumber,
      lastSequenceNumber: batch.messages[batch.messages.length - 1]?.sequenceNumber,
    });
    if (ledger.problems.length > 0) context.error(line);
    else context.info(line);
    return ledger;
  };
}
