import type { InvocationContext } from '@azure/functions';
import type { Dependencies } from '../../lib/dependencies';
import { ingestBatch } from '../../lib/ingest';
import type { Ledger } from '../../lib/ledger';
import { batchFromTrigger } from './eventHubBatch';

export type IngestHandler = (messages: unknown[], context: InvocationContext) => Promise<Ledger>;

/** The Event Hub function body: the trigger's input mapped to a batch, the batch through lib/ingest.ts. */
export function ingestHandler(dependencies: () => Promise<Dependencies>): IngestHandler {
  return async (messages, context) => {
    const deps = await dependencies();
    const batch = batchFromTrigger(messages, context, deps.clock());
    return ingestBatch(batch, deps, (level, line) => context[level](line));
  };
}
