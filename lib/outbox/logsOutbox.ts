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
  /** Called as each request is accepted. */
  onDelivered?: (rows: readonly R[]) => void;
}

/** The API takes 1 MB per call; the SDK cuts its chunks below this many bytes, and so do we. */
export const MAX_REQUEST_BYTES = 1_000_000;
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
  private pending: R[] = [];
  private pendingBytes = 1; // "[" and "]", less the comma the first row does not need
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
    if (this.pending.length > 0 && this.pendingBytes + 1 + row.bytes.length >= MAX_REQUEST_BYTES)
      await this.dispatch();
    this.pending.push(row);
    this.pendingBytes += 1 + row.bytes.length;
  }

  /** Sends what is left, waits for every request, and returns what was not delivered. */
  async close(): Promise<LogsShortfall<R>> {
    if (this.pending.length > 0) await this.dispatch();
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
    return this.shortfall;
  }

  /** Drops the rows not yet sent and waits for the requests in flight: the batch will run again. */
  async abandon(): Promise<void> {
    this.abandoned = true;
    this.pending = [];
    this.pendingBytes = 1;
    while (this.inFlight.size > 0) await Promise.allSettled(this.inFlight);
  }

  private async dispatch(): Promise<void> {
    while (this.inFlight.size >= this.maxInFlight) await Promise.race(this.inFlight);
    const rows = this.pending;
    this.pending = [];
    this.pendingBytes = 1;
    const request = this.send(rows).finally(() => this.inFlight.delete(request));
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

/** Sends rows through an outbox and waits for all of them: the redrive's and the reconciler's way to send. */
export async function sendRows<R extends OutgoingRow>(
  sink: LogsSink,
  stream: string,
  rows: Iterable<R>,
): Promise<LogsShortfall<R> & { delivered: number }> {
  let delivered = 0;
  const outbox = new LogsOutbox<R>(sink, stream, { onDelivered: (sent) => (delivered += sent.length) });
  for (const row of rows) await outbox.add(row);
  return { ...(await outbox.close()), delivered };
}
