import type { Config } from '../config';
import { FitError } from '../errors';
import { fitRow, type OversizeStrategy } from '../fit/fit';
import { normalizeMessage } from '../records/normalize';
import { rowJson } from '../records/row';
import { archiveBlobName, type ArchiveBatch } from '../sinks/archiveBlobName';
import { readAll } from './input';
import { ChunkedWriter, EXIT, write, type Io } from './io';

export interface NormalizeOptions {
  strategy: OversizeStrategy;
  limit: number;
  /** Treated as the time Event Hubs enqueued the input; it picks the archive partition ArchiveBlob names. */
  enqueuedTime: string;
}

/** The first dead-letter reasons are printed on stderr; the rest are counted. */
const REASONS_SHOWN = 20;

/**
 * `defender-export normalize`: message bodies in, fitted logs rows out as NDJSON, a summary on stderr.
 * ArchiveBlob in split and trimmed rows names the blob `replay` would archive the original in, with the
 * input as source `cli`, partition 0 and each body's position as its sequence number.
 */
export async function normalizeCommand(
  files: readonly string[],
  options: NormalizeOptions,
  io: Io,
): Promise<number> {
  const counts = { messages: 0, events: 0, rows: 0, split: 0, parts: 0, trimmed: 0, deadLettered: 0 };
  const reasons: string[] = [];
  const deadLetter = (where: string, reason: string) => {
    counts.deadLettered++;
    if (reasons.length < REASONS_SHOWN) reasons.push(`${where}: ${reason}`);
  };

  const out = new ChunkedWriter(io.stdout);
  for await (const body of readAll(files, io.stdin)) {
    const sequenceNumber = counts.messages++;
    const batch: ArchiveBatch = {
      source: 'cli',
      partitionId: '0',
      firstSequenceNumber: sequenceNumber,
      lastSequenceNumber: sequenceNumber,
      enqueuedTimeUtc: options.enqueuedTime,
    };
    const { events, rejections } = normalizeMessage(body.text, { enqueuedTimeUtc: options.enqueuedTime });
    for (const rejection of rejections) deadLetter(body.where, rejection.reason);
    for (const event of events) {
      counts.events++;
      try {
        const fitted = fitRow(event, {
          limit: options.limit,
          strategy: options.strategy,
          archiveBlob: archiveBlobName(event.identity.DataType, batch),
        });
        if (fitted.outcome === 'split') {
          counts.split++;
          counts.parts += fitted.rows.length;
        }
        if (fitted.outcome === 'trimmed') counts.trimmed++;
        for (const row of fitted.rows)
          await out.line(rowJson(row, row.Properties === event.event ? event.json : undefined));
        counts.rows += fitted.rows.length;
      } catch (error) {
        if (!(error instanceof FitError)) throw error;
        deadLetter(body.where, error.message);
      }
    }
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
