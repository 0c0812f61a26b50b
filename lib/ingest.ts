import type { Ledger } from './ledger';
import { processBatch, type Batch, type PipelineDependencies } from './pipeline';

/** Where a batch's ledger line goes: the Functions context's logger, or nowhere for a replay that sums them. */
export type LedgerLog = (level: 'info' | 'error', line: string) => void;

/**
 * The Event Hub functions' body without the host: a batch through the pipeline, and its ledger out as one
 * structured log line (an error line when it does not add up). The functions map the trigger's metadata to
 * the batch; `replay` builds the batch from files and calls this directly.
 */
export async function ingestBatch(batch: Batch, deps: PipelineDependencies, log: LedgerLog): Promise<Ledger> {
  const ledger = await processBatch(batch, deps);
  const line = JSON.stringify({
    ledger,
    source: batch.source,
    partitionId: batch.partitionId,
    firstSequenceNumber: batch.messages[0]?.sequenceNumber,
    lastSequenceNumber: batch.messages[batch.messages.length - 1]?.sequenceNumber,
  });
  log(ledger.problems.length > 0 ? 'error' : 'info', line);
  return ledger;
}
