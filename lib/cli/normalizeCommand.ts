import type { Config } from '../config';
import type { OversizeStrategy } from '../fit/fit';
import type { Router } from '../routing/route';
import { archiveBlobName, type ArchiveBatch } from '../sinks/archiveBlobName';
import { stepMessage } from '../step';
import { batches, type BatchingOptions, type ReplayMessage } from './batches';
import { inputFiles, readAll } from './input';
import { EXIT, write, type Io } from './io';
import { RecordWriter, type RecordFormat, type Query } from './output';
import { Progress } from './progress';
import { plural } from './text';

export interface NormalizeOptions extends BatchingOptions {
  strategy: OversizeStrategy;
  limit: number;
  /** The Event Hub name the input stands for, as in replay. */
  source: string;
  /** Treated as the time Event Hubs enqueued the input; it picks the archive partition ArchiveBlob names. */
  enqueuedTime: string;
  /** How the rows are printed on stdout (default: NDJSON, as they are); the summary is always text on stderr. */
  output?: { format: RecordFormat; query?: Query };
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
  const { totalBytes } = inputFiles(files);
  const out = new RecordWriter(io.stdout, options.output ?? { format: 'json' });
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
      for (const row of fitted.rows) await out.record(row);
      counts.rows += fitted.rows.length;
    }
  };

  const progress = new Progress(io, 'normalize', totalBytes);
  try {
    for await (const { partitionId, messages } of batches(
      readAll(files, io.stdin, progress.input),
      options,
    )) {
      const batch: ArchiveBatch = {
        source: options.source,
        partitionId,
        firstSequenceNumber: messages[0]!.sequenceNumber,
        lastSequenceNumber: messages[messages.length - 1]!.sequenceNumber,
        enqueuedTimeUtc: options.enqueuedTime,
      };
      for (const message of messages) await normalizeOne(message, batch);
      progress.update(counts.events);
    }
    await out.flush();
  } finally {
    progress.stop();
  }

  for (const reason of reasons) await write(io.stderr, `dead-lettered ${reason}\n`);
  if (counts.deadLettered > reasons.length) {
    await write(io.stderr, `... and ${counts.deadLettered - reasons.length} more dead-lettered\n`);
  }
  await write(
    io.stderr,
    `normalized ${plural(counts.events, 'event')} from ${plural(counts.messages, 'message')} into ` +
      `${plural(counts.rows, 'row')} (${counts.split} split into ${plural(counts.parts, 'part')}, ` +
      `${counts.trimmed} trimmed); ` +
      `${counts.deadLettered} dead-lettered\n`,
  );
  return counts.deadLettered > 0 ? EXIT.someFailed : EXIT.ok;
}

export function normalizeDefaults(config: Config): Pick<NormalizeOptions, 'strategy' | 'limit'> {
  return { strategy: config.OVERSIZE_STRATEGY, limit: config.RECORD_SIZE_LIMIT_BYTES };
}
