import { SingleBar } from 'cli-progress';
import { statSync } from 'node:fs';
import { ingestBatch } from '../ingest';
import { addLedger, emptyLedger, type Ledger } from '../ledger';
import type { Batch, PipelineDependencies } from '../pipeline';
import { batches, type BatchingOptions, type ReplayBatch } from './batches';
import { readAll } from './input';
import { EXIT, write, type Io } from './io';
import { ledgerText, somethingFailed } from './ledgerText';

export interface ReplayOptions extends BatchingOptions {
  /** The Event Hub name the batches pretend to come from; it names the archive blobs. */
  source: string;
  enqueuedTime: string;
  json: boolean;
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

const BIG_INPUT_BYTES = 1 << 20;

/**
 * `defender-export replay`: files (or stdin) through exactly the code the Event Hub functions run
 * (lib/ingest.ts), against the configured sinks. Partitions run side by side, each one batch at a time, as the host does.
 */
export async function replayCommand(
  files: readonly string[],
  options: ReplayOptions,
  io: Io,
  deps: PipelineDependencies,
): Promise<number> {
  const totalBytes = files.reduce((sum, file) => sum + (file === '-' ? 0 : statSync(file).size), 0);
  const tty = (io.stderr as { isTTY?: boolean }).isTTY === true;
  const bar =
    tty && totalBytes > BIG_INPUT_BYTES
      ? new SingleBar({
          stream: io.stderr,
          format: 'replay [{bar}] {percentage}% | {events} events | {eta_formatted} left',
        })
      : undefined;
  bar?.start(totalBytes, 0, { events: 0 });

  let ledger = emptyLedger();
  let bytes = 0;
  const inFlight: Array<Promise<void>> = [];
  const run = async (batch: ReplayBatch) => {
    // The ledgers are summed and printed below, not line by line.
    const result: Ledger = await ingestBatch(
      eventHubBatch(batch, options.source, options.enqueuedTime),
      deps,
      () => undefined,
    );
    ledger = addLedger(ledger, result);
    bytes += batch.messages.reduce((sum, m) => sum + Buffer.byteLength(m.body) + 1, 0);
    bar?.update(bytes, { events: ledger.received });
  };
  for await (const batch of batches(readAll(files, io.stdin), options)) {
    // Batch k and batch k - partitions share a partition: wait for that one first, to keep its order.
    if (inFlight.length >= options.partitions) await inFlight.shift();
    const running = run(batch);
    running.catch(() => undefined); // awaited in turn; this only keeps an early failure from being "unhandled"
    inFlight.push(running);
  }
  await Promise.all(inFlight);
  bar?.stop();

  await write(io.stderr, ledgerText(ledger));
  if (options.json) await write(io.stdout, `${JSON.stringify(ledger)}\n`);
  if (ledger.problems.length > 0) return EXIT.internal;
  return somethingFailed(ledger) ? EXIT.someFailed : EXIT.ok;
}
