import { FitError } from '../errors';
import type { NormalizedEvent } from '../records/normalize';
import { makeRow, type LogsRow, type RowFrame, type RowIdentity } from '../records/row';
import { jsonBytes } from './measure';
import { formatPath, TEXT, WHOLE } from './partPath';
import { wrapInSkeleton } from './skeleton';
import { splitEvent } from './split';
import { trimToFit } from './trim';

export const OVERSIZE_STRATEGIES = ['split', 'trim'] as const;
export type OversizeStrategy = (typeof OVERSIZE_STRATEGIES)[number];

/** The Logs Ingestion API takes 1 MB per call; below 1 KB the identity columns alone would not fit. */
export const MIN_RECORD_LIMIT = 1024;
export const MAX_RECORD_LIMIT = 1_048_576;

export interface FitOptions {
  /** Most UTF-8 bytes one row may take as sent (RECORD_SIZE_LIMIT_BYTES). */
  limit: number;
  strategy: OversizeStrategy;
  /** Where the untouched original is archived; written into split and trimmed rows. */
  archiveBlob: string;
}

export interface FitResult {
  outcome: 'whole' | 'split' | 'trimmed';
  rows: LogsRow[];
  /** Bytes of the row before fitting (also in each row's OriginalBytes). */
  originalBytes: number;
  /**
   * For a whole row, its JSON up to its Properties: the row's text is this, the event's JSON and `}`, so
   * the event need not be serialised again.
   */
  propertiesPrefix?: string;
}

/** Bytes of a row without its Properties (which are serialised last, as `null` here: 4 bytes). */
function frameBytes(identity: RowIdentity, frame: RowFrame): number {
  return jsonBytes(makeRow(identity, frame, null)) - 4;
}

const WHOLE_FRAME: RowFrame = {
  PartIndex: 0,
  PartCount: 1,
  PartPath: WHOLE,
  Trimmed: false,
  OriginalBytes: 0,
  ArchiveBlob: '',
};
/** How a whole row's JSON ends, with OriginalBytes 0 and Properties null (the last three columns). */
const WHOLE_END = '"OriginalBytes":0,"ArchiveBlob":"","Properties":null}';

/**
 * A whole row's size and its JSON up to the Properties. OriginalBytes is itself in the row, so its own
 * digits count: serialise the frame once with OriginalBytes 0 (one digit) and settle the digit count
 * arithmetically.
 */
function wholeRow(identity: RowIdentity, eventBytes: number): { bytes: number; propertiesPrefix: string } {
  const json = JSON.stringify(makeRow(identity, WHOLE_FRAME, null));
  const head = json.slice(0, -WHOLE_END.length); // everything before OriginalBytes
  const withoutDigits = Buffer.byteLength(json, 'utf8') - 4 - 1 + eventBytes;
  let digits = 1;
  while (String(withoutDigits + digits).length !== digits) digits = String(withoutDigits + digits).length;
  const bytes = withoutDigits + digits;
  return { bytes, propertiesPrefix: `${head}"OriginalBytes":${bytes},"ArchiveBlob":"","Properties":` };
}

/**
 * Makes one normalised event into rows of at most `limit` bytes each, as JSON.stringify writes them.
 * A row that fits goes as it is. Otherwise `split` cuts the event into parts that each carry every
 * identity column and reassemble exactly (see partPath.ts), and `trim` cuts the largest content until one
 * row fits, marking each cut; both point ArchiveBlob at the archived original. Throws FitError when the
 * identity columns leave no room at all under the limit.
 */
export function fitRow(normalized: NormalizedEvent, options: FitOptions): FitResult {
  const { identity, event, json, bytes } = normalized;
  const { limit } = options;
  if (!Number.isInteger(limit) || limit < MIN_RECORD_LIMIT || limit > MAX_RECORD_LIMIT) {
    throw new FitError(`record limit ${limit} is outside ${MIN_RECORD_LIMIT}..${MAX_RECORD_LIMIT} bytes`);
  }
  const whole = wholeRow(identity, bytes.length);
  const originalBytes = whole.bytes;
  if (originalBytes <= limit) {
    const row = makeRow(identity, { ...WHOLE_FRAME, OriginalBytes: originalBytes }, event);
    return { outcome: 'whole', rows: [row], originalBytes, propertiesPrefix: whole.propertiesPrefix };
  }

  if (options.strategy === 'trim') {
    const frame: RowFrame = {
      PartIndex: 0,
      PartCount: 1,
      PartPath: WHOLE,
      Trimmed: true,
      OriginalBytes: originalBytes,
      ArchiveBlob: options.archiveBlob,
    };
    const room = limit - frameBytes(identity, frame);
    if (room < 2) throw tooBig(identity, limit, limit - room);
    return { outcome: 'trimmed', rows: [makeRow(identity, frame, trimToFit(event, room))], originalBytes };
  }

  // Part numbers are not known until the split is done: budget for the widest they can be.
  const widest = 10 ** String(originalBytes).length - 1;
  const frameFor = (partPath: string): RowFrame => ({
    PartIndex: widest,
    PartCount: widest,
    PartPath: partPath,
    Trimmed: false,
    OriginalBytes: originalBytes,
    ArchiveBlob: options.archiveBlob,
  });
  const pieces = splitEvent(event, json, (partPath) => limit - frameBytes(identity, frameFor(partPath)));
  if (pieces === undefined) throw tooBig(identity, limit, frameBytes(identity, frameFor(TEXT)));
  const rows = pieces.map((piece, index) =>
    makeRow(
      identity,
      {
        ...frameFor(piece.path === TEXT ? TEXT : formatPath(piece.path)),
        PartIndex: index,
        PartCount: pieces.length,
      },
      piece.path === TEXT ? piece.content : wrapInSkeleton(piece.path, piece.content),
    ),
  );
  return { outcome: 'split', rows, originalBytes };
}

function tooBig(identity: RowIdentity, limit: number, frame: number): FitError {
  return new FitError(
    `the identity columns of ${identity.DataType} ${identity.RecordId.slice(0, 80)} take ${frame} bytes, ` +
      `which leaves no room for Properties under the record limit of ${limit} bytes`,
  );
}
