import type { Config } from '../config';
import type { OversizeStrategy } from '../fit/fit';
import type { Router } from '../routing/route';
import { archiveBlobName, type ArchiveBatch } from '../sinks/archiveBlobName';
import { stepMessage } from '../step';
import { batches, type BatchingOptions, type ReplayMessage } from './batches';
import { readAll } from './input';
import { ChunkedWriter, EXIT, write, type Io } from './io';

export interface NormalizeOptions extends BatchingOptions {
  strategy: OversizeStrategy;
  limit: number;
  /** The Event Hub name the input stands for, as in replay. */
  source: string;
  /** Treated as the time Event Hubs enqueued the input; it picks the archive partition ArchiveBlob names. */
  enqueuedTime: string;
}

/** The first dead-letter reasons are printed on stderr; the rest are counted. */
const REASONS_SHOWN = 20;

/**
 * `defender-export normalize`: message bodies in, fitted logs rows out as NDJSON, a summary on stderr.
 * ArchiveBlob in split and trimmed rows names the blob `replay` would archive the original in, given the
 * same source, enqueued time and batching.
 */
export async function normalizeCommand(
  files: readonly string[],
  options: NormalizeOptions,
  io: Io,
): Promise<number> {
  const counts = { messages: 0, events: 0, rows: 0, split: 0, parts: 0, trimmed: 0, deadLettered: 0 };
  const reasons: string[] = [];
  const out = new ChunkedWriter(io.stdout);
  const deadLetter = (where: string, reason: string) => {
    counts.deadLettered++;
    if (reasons.length < REASONS_SHOWN) reasons.push(`${where}: ${reason}`);
  };

  // Every event is fitted, whatever ROUTES says: the command shows what the rows look like.
  const everyEventToLogs: Router = () => ({
    rule: 0,
    drop: false,
    streams: ['normalize'],
    archive: false,
    oversize: options.strategy,
  });
  const normalizeOne = async (message: ReplayMessage, batch: ArchiveBatch) => {
    counts.messages++;
    const results = stepMessage(message.body, {
      route: everyEventToLogs,
      recordLimit: options.limit,
      enqueuedTimeUtc: options.enqueuedTime,
      now: io.clock ?? (() => new Date()),
      archiveBlob: (dataType) => archiveBlobName(dataType, batch),
    });
    for (const result of results) {
      if (result.kind === 'fault') throw result.error;
      if (result.kind === 'rejected') {
        deadLetter(message.where, result.reason);
        continue;
      }
      counts.events++;
      if (result.kind !== 'routed') continue;
      const { fitted } = result;
      if ('error' in fitted) {
        deadLetter(message.where, fitted.error);
        continue;
      }
      if (fitted.outcome === 'split') {
        counts.split++;
        counts.parts += fitted.rows.length;
      }
      if (fitted.outcome === 'trimmed') counts.trimmed++;
      for (const row of fitted.rows) await out.line(row);
      counts.rows += fitted.rows.length;
    }
  };

  for await (const { partitionId, messages } of batches(readAll(files, io.stdin), options)) {
    const batch: ArchiveBatch = {
      source: options.source,
      partitionId,
      firstSequenceNumber: messages[0]!.sequenceNumber,
      lastSequenceNumber: messages[messages.length - 1]!.sequenceNumber,
      enqueuedTimeUtc: options.enqueuedTime,
    };
    for (const message of messages) await normalizeOne(message, batch);
  }
  await out.flush();

  for (const reason of reasons) await write(io.stderr, `dead-lettered ${reason}\n`);
  if (counts.deadLettered > reasons.length) {
    await write(io.stderr, `... and ${counts.deadLettered - reasons.length} more dead-lettered\n`);
  }
  await write(
    io.stderr,
    `normalized ${counts.events} events from ${counts.messages} messages into ${counts.rows} rows ` +
      `(${counts.split} split into ${counts.parts} parts, ${counts.trimmed} trimmed); ` +
      `${counts.deadLettered} dead-lettered\n`,
  );
  return counts.deadLettered > 0 ? EXIT.someFailed : EXIT.ok;
}

export function normalizeDefaults(config: Config): Pick<NormalizeOptions, 'strategy' | 'limit'> {
  return { strategy: config.OVERSIZE_STRATEGY, limit: config.RECORD_SIZE_LIMIT_BYTES };
}
