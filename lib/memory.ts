import { createPipelineRequest, RestError } from '@azure/core-rest-pipeline';
import { gunzipSync } from 'node:zlib';
import type {
  ArchiveMetadata,
  ArchiveSink,
  DeadLetterStore,
  HeartbeatStore,
  LastSeen,
  LogsSink,
  ParkedItem,
  ParkedRef,
  ParkingStore,
  Sighting,
} from './ports';
import type { DataType } from './records/row';
import { batchLabel, type BatchOrigin } from './sinks/archiveBlobName';
import { digest } from './sinks/blobs';
import type { DeadLetterRecord } from './sinks/deadLetter';

/**
 * In-memory implementations of every interface in lib/ports.ts, the way OpenTelemetry ships an in-memory
 * exporter: for tests of the pipeline, the redrive and the reconciler that are about our logic, and for
 * trying a routing or fitting change without Azure. Each keeps what it was given for inspection and has
 * fault switches that fail as the service does (a RestError with its status, code and a request id), so
 * the code under test reads them exactly as it reads Azure's.
 */

/** A failure to inject: the next `times` calls (default 1) that match `when` fail, or answer slowly. */
export interface MemoryFault<T = unknown> {
  /** HTTP status to fail with; omitted with `delayMs` for a slow success. */
  status?: number;
  code?: string;
  /** Wait this long before answering (or failing). */
  delayMs?: number;
  times?: number;
  when?: (subject: T) => boolean;
}

/** Common fault modes, by name. */
export const fault = {
  /** Throttled beyond the SDK's retries: 429. */
  throttle: (times = 1): MemoryFault => ({ status: 429, code: 'TooManyRequests', times }),
  /** The service fails: 503 by default. */
  fail: (times = 1, status = 503): MemoryFault => ({ status, code: `Http${status}`, times }),
  /** Answers, but only after `delayMs`. */
  slow: (delayMs: number, times = 1): MemoryFault => ({ delayMs, times }),
  /** Refuses every request holding a row that matches, as Logs Ingestion refuses a request for one bad row. */
  refuseRows: (
    when: (row: Record<string, unknown>) => boolean,
    status = 400,
  ): MemoryFault<Array<Record<string, unknown>>> => ({
    status,
    code: status === 413 ? 'ContentLengthLimitExceeded' : 'InvalidRecord',
    times: Infinity,
    when: (rows) => rows.some(when),
  }),
};

let requestCount = 0;

function serviceError(status: number, code: string | undefined, what: string): RestError {
  const request = createPipelineRequest({ url: `memory://${what}/${++requestCount}` });
  return new RestError(`${what} answered ${status}${code ? ` ${code}` : ''}`, {
    statusCode: status,
    request,
    ...(code ? { code } : {}),
  });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Faults waiting to happen, first injected first used. */
class FaultSwitch<T> {
  private faults: Array<MemoryFault<T> & { left: number }> = [];

  inject(fault: MemoryFault<T>): void {
    this.faults.push({ ...fault, left: fault.times ?? 1 });
  }

  clear(): void {
    this.faults = [];
  }

  /** Applies the first fault that matches `subject`: waits, then throws when it carries a status. */
  async apply(subject: T, what: string): Promise<void> {
    const fault = this.faults.find((f) => f.left > 0 && (!f.when || f.when(subject)));
    if (!fault) return;
    fault.left--;
    if (fault.delayMs) await sleep(fault.delayMs);
    if (fault.status !== undefined) throw serviceError(fault.status, fault.code, what);
  }
}

/** The Logs Ingestion API's request limit. */
const MAX_BODY_BYTES = 1_048_576;

export class MemoryLogsSink implements LogsSink {
  readonly faults = new FaultSwitch<Array<Record<string, unknown>>>();
  /** Every request: its stream, how many rows it held and what it was answered. */
  readonly requests: Array<{ stream: string; rows: number; status: number }> = [];
  private readonly accepted = new Map<string, Array<Record<string, unknown>>>();

  async upload(stream: string, body: Buffer): Promise<void> {
    const rows = JSON.parse(body.toString('utf8')) as Array<Record<string, unknown>>;
    try {
      if (body.length > MAX_BODY_BYTES) throw serviceError(413, 'ContentLengthLimitExceeded', 'logs');
      await this.faults.apply(rows, 'logs');
    } catch (error) {
      this.requests.push({ stream, rows: rows.length, status: (error as RestError).statusCode ?? 0 });
      throw error;
    }
    this.requests.push({ stream, rows: rows.length, status: 204 });
    const list = this.accepted.get(stream) ?? [];
    for (const row of rows) list.push(row);
    this.accepted.set(stream, list);
  }

  /** The rows accepted for `stream`, or for every stream. */
  rows(stream?: string): Array<Record<string, unknown>> {
    return stream ? (this.accepted.get(stream) ?? []) : [...this.accepted.values()].flat();
  }
}

export class MemoryArchive implements ArchiveSink {
  readonly faults = new FaultSwitch<string>();
  readonly blobs = new Map<string, { content: Buffer; metadata: ArchiveMetadata }>();

  async create(name: string, content: Buffer, metadata: ArchiveMetadata): Promise<'created' | 'exists'> {
    await this.faults.apply(name, 'archive');
    if (this.blobs.has(name)) return 'exists';
    this.blobs.set(name, { content, metadata });
    return 'created';
  }

  /** The lines of blob `name`, or of every blob. */
  lines(name?: string): string[] {
    const blobs = name ? [this.blobs.get(name)].filter((b) => b !== undefined) : [...this.blobs.values()];
    return blobs.flatMap((b) => gunzipSync(b.content).toString('utf8').split('\n').filter(Boolean));
  }
}

export class MemoryParkingStore implements ParkingStore {
  readonly faults = new FaultSwitch<ParkedItem>();
  readonly items = new Map<string, { item: ParkedItem; etag: string; nextAttemptAt: Date }>();
  private version = 0;

  async park(item: ParkedItem, nextAttemptAt: Date): Promise<string> {
    await this.faults.apply(item, 'parking');
    const name = `${item.destination === 'logs' ? `logs/${item.stream}` : 'archive'}/${batchLabel(item.origin)}-${digest(JSON.stringify(item))}`;
    if (!this.items.has(name)) this.items.set(name, { item, etag: this.etag(), nextAttemptAt });
    return name;
  }

  async *list(): AsyncGenerator<ParkedRef> {
    for (const [name, { item, etag, nextAttemptAt }] of this.items)
      yield {
        name,
        etag,
        attempts: item.attempts,
        nextAttemptAt,
        firstParkedAt: new Date(item.firstParkedAt),
      };
  }

  async read(ref: ParkedRef): Promise<ParkedItem> {
    return this.current(ref).item;
  }

  async reschedule(ref: ParkedRef, item: ParkedItem, nextAttemptAt: Date): Promise<void> {
    this.current(ref);
    this.items.set(ref.name, { item, etag: this.etag(), nextAttemptAt });
  }

  async remove(ref: ParkedRef): Promise<void> {
    const entry = this.items.get(ref.name);
    if (!entry) return;
    if (entry.etag !== ref.etag) throw serviceError(412, 'ConditionNotMet', 'parking');
    this.items.delete(ref.name);
  }

  private current(ref: ParkedRef) {
    const entry = this.items.get(ref.name);
    if (!entry) throw serviceError(404, 'BlobNotFound', 'parking');
    if (entry.etag !== ref.etag) throw serviceError(412, 'ConditionNotMet', 'parking');
    return entry;
  }

  private etag(): string {
    return `"${++this.version}"`;
  }
}

export class MemoryDeadLetterStore implements DeadLetterStore {
  readonly faults = new FaultSwitch<readonly DeadLetterRecord[]>();
  readonly blobs = new Map<string, DeadLetterRecord[]>();
  /** When each blob was written, as a blob's creation time: what recent() counts by. */
  private readonly writtenAt = new Map<string, Date>();

  /** `clock` stamps each write; the real time unless a test owns the clock. */
  constructor(private readonly clock: () => Date = () => new Date()) {}

  async write(origin: BatchOrigin, records: readonly DeadLetterRecord[]): Promise<string | undefined> {
    if (records.length === 0) return undefined;
    await this.faults.apply(records, 'dead letters');
    const name = `${batchLabel(origin)}-${digest(JSON.stringify(records))}`;
    if (!this.blobs.has(name)) {
      this.blobs.set(name, [...records]);
      this.writtenAt.set(name, this.clock());
    }
    return name;
  }

  async recent(since: Date): Promise<{ blobs: number; records: number }> {
    const found = { blobs: 0, records: 0 };
    for (const [name, records] of this.blobs) {
      if (this.writtenAt.get(name)! < since) continue;
      found.blobs++;
      found.records += records.length;
    }
    return found;
  }

  /** Every record written. */
  records(): DeadLetterRecord[] {
    return [...this.blobs.values()].flat();
  }
}

export class MemoryHeartbeatStore implements HeartbeatStore {
  readonly faults = new FaultSwitch<Sighting>();
  readonly seen = new Map<string, Sighting>();

  async record(sightings: readonly Sighting[]): Promise<number> {
    const results = await Promise.allSettled(
      sightings.map(async (s) => {
        await this.faults.apply(s, 'heartbeat');
        const key = `${s.subscriptionId}\n${s.dataType}\n${s.snapshot}`;
        const known = this.seen.get(key);
        if (!known || known.lastSeen < s.lastSeen) this.seen.set(key, s);
      }),
    );
    return results.filter((r) => r.status === 'rejected').length;
  }

  async lastSeenBySubscription(): Promise<Map<string, LastSeen>> {
    const latest = new Map<string, LastSeen>();
    for (const s of this.seen.values()) {
      const seen = latest.get(s.subscriptionId) ?? {};
      const kind = s.snapshot ? 'snapshot' : 'streaming';
      if (!seen[kind] || seen[kind] < s.lastSeen) seen[kind] = s.lastSeen;
      latest.set(s.subscriptionId, seen);
    }
    return latest;
  }

  async lastSeenByDataType(): Promise<Map<DataType, Date>> {
    const latest = new Map<DataType, Date>();
    for (const s of this.seen.values()) {
      const known = latest.get(s.dataType);
      if (!known || known < s.lastSeen) latest.set(s.dataType, s.lastSeen);
    }
    return latest;
  }
}

/**
 * A full set of in-memory sinks and stores, as PipelineDependencies and RedriveDependencies take them.
 * `clock` stamps dead-letter writes (the real time by default).
 */
export function memorySinks(options: { clock?: () => Date } = {}) {
  return {
    logs: new MemoryLogsSink(),
    archive: new MemoryArchive(),
    parking: new MemoryParkingStore(),
    deadLetters: new MemoryDeadLetterStore(options.clock),
    heartbeat: new MemoryHeartbeatStore(),
  };
}
