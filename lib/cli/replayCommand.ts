import { ingestBatch } from '../ingest';
import { addLedger, emptyLedger, type Ledger } from '../ledger';
import type { Batch, PipelineDependencies } from '../pipeline';
import { batches, type BatchingOptions, type ReplayBatch } from './batches';
import { errorText } from './failure';
import { inputFiles, readAll } from './input';
import { EXIT, write, type Io } from './io';
import { ledgerTable, ledgerText, somethingFailed } from './ledgerText';
import { printResult, type OutputOptions } from './output';
import { Progress } from './progress';

export interface ReplayOptions extends BatchingOptions {
  /** The Event Hub name the batches pretend to come from; it names the archive blobs. */
  source: string;
  enqueuedTime: string;
  /** How the ledger is printed on stdout (default `none`: only the summary on stderr). */
  output?: OutputOptions;
  /** Without `output`: true is `-o json`, as before `-o` existed. */
  json?: boolean;
}

/** A replayed batch as the Event Hub trigger would hand it over; nobody retries it, so faults are dead-lettered. */
function eventHubBatch(batch: ReplayBatch, source: string, enqueuedTime: string): Batch {
  return {
    source,
    partitionId: batch.partitionId,
    deadLetterFaults: true,
    messages: batch.messages.map((m) => ({
      body: m.body,
      sequenceNumber: m.sequenceNumber,
      enqueuedTimeUtc: enqueuedTime,
      offset: String(m.sequenceNumber),
    })),
  };
}

/**
 * `defender-export replay`: files (or stdin) through exactly the code the Event Hub functions run
 * (lib/ingest.ts), against the configured sinks. Partitions run side by side, each one batch at a time, as
 * the host does. The ledger is summarised on stderr, and printed on stdout as `output` asks.
 */
export async function replayCommand(
  files: readonly string[],
  options: ReplayOptions,
  io: Io,
  deps: PipelineDependencies,
): Promise<number> {
  const output: OutputOptions = options.output ?? { format: options.json ? 'json' : 'none' };
  const { totalBytes } = inputFiles(files);
  const progress = new Progress(io, 'replay', totalBytes);

  let ledger = emptyLedger();
  const inFlight: Array<Promise<void>> = [];
  const run = async (batch: ReplayBatch) => {
    // The ledgers are summed and printed below, not line by line.
    const result: Ledger = await ingestBatch(
      eventHubBatch(batch, options.source, options.enqueuedTime),
      deps,
      () => undefined,
    );
    ledger = addLedger(ledger, result);
    progress.update(ledger.received);
  };
  try {
    for await (const batch of batches(readAll(files, io.stdin, progress.input), options)) {
      // Batch k and batch k - partitions share a partition: wait for that one first, to keep its order.
      if (inFlight.length >= options.partitions) await inFlight.shift();
      const running = run(batch);
      running.catch(() => undefined); // awaited in turn; this only keeps an early failure from being "unhandled"
      inFlight.push(running);
    }
    await Promise.all(inFlight);
  } finally {
    progress.stop();
  }

  await write(io.stderr, ledgerText(ledger));
  await printResult(io, ledger, output, () => ledgerTable(ledger));
  if (ledger.problems.length > 0) {
    await write(
      io.stderr,
      errorText(
        `the ledger does not add up: ${ledger.problems.join('; ')} (a bug: please report it)`,
        'Please report it with this output and, if you can, the input that caused it.',
      ),
    );
    return EXIT.internal;
  }
  return somethingFailed(ledger) ? EXIT.someFailed : EXIT.ok;
}
