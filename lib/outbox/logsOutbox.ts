import type { LogsSink } from '../ports';
import { describeFailure, type DeliveryFailure } from '../sinks/deliveryFailure';

/** A row on its way: its JSON as UTF-8, plus whatever the caller needs to know whose it is. */
export interface OutgoingRow {
  bytes: Buffer;
}

/** What did not reach the stream. Every row given to `add` is delivered, or in exactly one of these lists. */
export interface LogsShortfall<R extends OutgoingRow> {
  /** Refused for what they are (400, 413), isolated row by row: dead-letter them. */
  rejected: Array<{ row: R; failure: DeliveryFailure }>;
  /** Could not be delivered now (429 or 5xx after the SDK's retries, network, auth): park them. */
  failed: Array<{ rows: R[]; failure: DeliveryFailure }>;
  /** The first failure met, in the order requests were answered. */
  first?: DeliveryFailure;
}

export interface LogsOutboxOptions<R extends OutgoingRow> {
  /** Requests in flight at once (default 5, the SDK's own `maxConcurrency`). */
  maxInFlight?: number;
  /**
   * The stream's table is on the Auxiliary plan, whose ingestion takes TimeGenerated with exactly 6 decimal
   * places and refuses a request whose rows span more than 30 minutes of it: each row's TimeGenerated is
   * written so, and rows are grouped by the 30-minute window they fall in. Otherwise rows go in arrival order.
   */
  auxiliary?: boolean;
  /** Called as each request is accepted. */
  onDelivered?: (rows: readonly R[]) => void;
}

/** The API takes 1 MB per call; the SDK cuts its chunks below this many bytes, and so do we. */
export const MAX_REQUEST_BYTES = 1_000_000;
/** The records of one request to a table on the Auxiliary plan lie within 30 minutes of TimeGenerated. */
export const AUXILIARY_WINDOW_MS = 30 * 60_000;
/** Bytes waiting in all windows before the fullest is sent: bounds memory when rows span many windows. */
const PENDING_BYTES = 4 * MAX_REQUEST_BYTES;
/** Statuses that refuse a request for its content: retrying the same rows cannot help. */
const PERMANENT = new Set([400, 413]);
const OPEN = Buffer.from('[');
const COMMA = Buffer.from(',');
const CLOSE = Buffer.from(']');

function requestBody(rows: readonly OutgoingRow[]): Buffer {
  const parts: Buffer[] = [OPEN];
  for (const row of rows) {
    if (parts.length > 1) parts.push(COMMA);
    parts.push(row.bytes);
  }
  parts.push(CLOSE);
  return Buffer.concat(parts);
}

/**
 * Rows for one Log Analytics stream, sent as they arrive: consecutive rows are cut into requests whose JSON
 * array stays under 1 MB (a bigger row goes alone), and at most `maxInFlight` requests are in flight, so
 * `add` waits when they are (the caller's memory stays bounded). The service refuses a whole request for one
 * bad row; a refused request is halved and resent until the rows it refuses stand alone. Nothing here
 * throws for a delivery failure: `close` says what was not delivered.
 */
export class LogsOutbox<R extends OutgoingRow> {
  /** The rows not sent yet, by TimeGenerated window (one group, 0, without `windowMs`). */
  private readonly pending = new Map<number, { rows: R[]; bytes: number }>();
  private pendingBytes = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly shortfall: LogsShortfall<R> = { rejected: [], failed: [] };
  private readonly maxInFlight: number;
  private abandoned = false;

  constructor(
    private readonly sink: LogsSink,
    readonly stream: string,
    private readonly options: LogsOutboxOptions<R> = {},
  ) {
    this.maxInFlight = Math.max(1, options.maxInFlight ?? 5);
  }

  async add(row: R): Promise<void> {
    let window = 0;
    if (this.options.auxiliary) {
      const time = timeGenerated(row.bytes);
      window = Math.floor(time.ms / AUXILIARY_WINDOW_MS);
      row = { ...row, bytes: inMicroseconds(row.bytes, time) }; // a copy: the row may go to other streams
    }
    let group = this.pending.get(window);
    if (group && group.bytes + 1 + row.bytes.length >= MAX_REQUEST_BYTES) {
      await this.dispatch(window);
      group = undefined;
    }
    if (!group) this.pending.set(window, (group = { rows: [], bytes: 1 })); // "[", "]", no first comma
    group.rows.push(row);
    group.bytes += 1 + row.bytes.length;
    this.pendingBytes += 1 + row.bytes.length;
    if (this.pendingBytes > PENDING_BYTES) await this.dispatch(this.fullest());
  }

  /** Sends what is left, waits for every request, and returns what was not delivered. */
  async close(): Promise<LogsShortfall<R>> {
    for (const window of [...this.pending.keys()]) await this.dispatch(window);
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
    return this.shortfall;
  }

  /** Drops the rows not yet sent and waits for the requests in flight: the batch will run again. */
  async abandon(): Promise<void> {
    this.abandoned = true;
    this.pending.clear();
    this.pendingBytes = 0;
    while (this.inFlight.size > 0) await Promise.allSettled(this.inFlight);
  }

  private fullest(): number {
    let fullest = 0;
    let most = -1;
    for (const [window, group] of this.pending)
      if (group.bytes > most) [fullest, most] = [window, group.bytes];
    return fullest;
  }

  private async dispatch(window: number): Promise<void> {
    const group = this.pending.get(window);
    if (!group) return;
    this.pending.delete(window);
    this.pendingBytes -= group.bytes - 1;
    while (this.inFlight.size >= this.maxInFlight) await Promise.race(this.inFlight);
    const request = this.send(group.rows).finally(() => this.inFlight.delete(request));
    this.inFlight.add(request);
  }

  private async send(rows: R[]): Promise<void> {
    try {
      await this.sink.upload(this.stream, requestBody(rows));
      this.options.onDelivered?.(rows);
      return;
    } catch (error) {
      const failure = describeFailure(error);
      this.shortfall.first ??= failure;
      if (this.abandoned) return; // the batch runs again: no more requests for it
      if (failure.status === undefined || !PERMANENT.has(failure.status)) {
        this.shortfall.failed.push({ rows, failure });
      } else if (rows.length === 1) {
        this.shortfall.rejected.push({ row: rows[0]!, failure });
      } else {
        const half = Math.ceil(rows.length / 2);
        await this.send(rows.slice(0, half));
        await this.send(rows.slice(half));
      }
    }
  }
}

const TIME_PREFIX = '{"TimeGenerated":"';

/**
 * A row's TimeGenerated: its text where it leads the row (lib/records/row.ts makeRow writes it first, so it
 * is read from the first bytes), and in epoch ms; a row without a readable one counts as now.
 */
function timeGenerated(bytes: Buffer): { ms: number; text?: string } {
  const head = bytes.toString('utf8', 0, 64);
  const end = head.indexOf('"', TIME_PREFIX.length);
  if (head.startsWith(TIME_PREFIX) && end > 0) {
    const text = head.slice(TIME_PREFIX.length, end);
    const ms = Date.parse(text);
    if (!Number.isNaN(ms)) return { ms, text };
  }
  try {
    const ms = Date.parse(
      String((JSON.parse(bytes.toString('utf8')) as { TimeGenerated?: unknown }).TimeGenerated),
    );
    if (!Number.isNaN(ms)) return { ms };
  } catch {
    // not JSON: the service will say so, row by row
  }
  return { ms: Date.now() };
}

/**
 * The row with its leading TimeGenerated written with 6 decimal places, as the Auxiliary plan takes it:
 * the digits the text had are kept (Defender writes up to 7, the 7th dropped), zeros added.
 */
function inMicroseconds(bytes: Buffer, time: { ms: number; text?: string }): Buffer {
  if (time.text === undefined) return bytes;
  const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(time.text);
  const base = match && match[3] === 'Z' ? match[1] : new Date(time.ms).toISOString().slice(0, 19);
  const fraction = match && match[3] === 'Z' ? (match[2] ?? '') : String(time.ms % 1000).padStart(3, '0');
  const text = `${base}.${fraction.padEnd(6, '0').slice(0, 6)}Z`;
  if (text === time.text) return bytes;
  const rest = bytes.subarray(Buffer.byteLength(TIME_PREFIX + time.text));
  return Buffer.concat([Buffer.from(TIME_PREFIX + text), rest]);
}

/** Sends rows through an outbox and waits for all of them: the redrive's and the reconciler's way to send. */
export async function sendRows<R extends OutgoingRow>(
  sink: LogsSink,
  stream: string,
  rows: Iterable<R>,
  options: Pick<LogsOutboxOptions<R>, 'auxiliary'> = {},
): Promise<LogsShortfall<R> & { delivered: number }> {
  let delivered = 0;
  const outbox = new LogsOutbox<R>(sink, stream, {
    ...options,
    onDelivered: (sent) => (delivered += sent.length),
  });
  for (const row of rows) await outbox.add(row);
  return { ...(await outbox.close()), delivered };
}
