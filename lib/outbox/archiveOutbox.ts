import { once } from 'node:events';
import { createGzip, gunzipSync, gzipSync, type Gzip, type ZlibOptions } from 'node:zlib';
import type { ArchiveSink } from '../ports';
import type { BatchOrigin } from '../sinks/archiveBlobName';
import { describeFailure, type DeliveryFailure } from '../sinks/deliveryFailure';

/** What became of one archive blob: every owner (event slot) of its lines shares the outcome. */
export type ArchiveResult = { name: string; owners: number[] } & (
  | { ok: true; created: boolean }
  /** `lines` are the blob's lines again, for parking. */
  | { ok: false; failure: DeliveryFailure; lines: string[] }
);

/**
 * How far the compressor (on the thread pool) may fall behind before `add` waits for it. The stream's default
 * of 16 KB made every big line wait for its own compression, so nothing overlapped with the next event's work.
 */
const COMPRESSOR_LAG_BYTES = 8 << 20;

/**
 * Measured on the realistic workload's events (86 MB): level 2 compresses at 231 MB/s to 18.2%, the default
 * (6) at 82 MB/s to 14.9%. The archive is written on every delivery and read rarely; a fifth more cool-tier
 * bytes costs less than the compute the default level takes from every batch.
 */
const ARCHIVE_GZIP_LEVEL = 2;

const NEWLINE = Buffer.from('\n');

/** Lines are handed to the compressor in pieces of about this size: one thread-pool job per line cost more than the compression. */
const COMPRESSOR_INPUT_BYTES = 256 << 10;

interface OpenBlob {
  gzip: Gzip;
  /** Lines not yet handed to the compressor. */
  pending: Buffer[];
  pendingBytes: number;
  chunks: Buffer[];
  owners: number[];
  ended: Promise<unknown>;
}

/**
 * The archive's share of a batch: one gzip NDJSON blob per name (data type and batch), compressed as the
 * lines arrive (on the thread pool, beside the rest of the work) so only compressed bytes are held, and
 * written create-once when the batch closes. Nothing here throws for a write failure: `close` says.
 */
export class ArchiveOutbox {
  private readonly blobs = new Map<string, OpenBlob>();

  constructor(
    private readonly sink: ArchiveSink,
    private readonly origin: BatchOrigin,
  ) {}

  /** Adds one line (an event's JSON as UTF-8, without its newline). */
  async add(name: string, line: Buffer | string, owner: number): Promise<void> {
    let blob = this.blobs.get(name);
    if (!blob) {
      const gzip = createGzip({
        level: ARCHIVE_GZIP_LEVEL,
        chunkSize: COMPRESSOR_INPUT_BYTES,
        writableHighWaterMark: COMPRESSOR_LAG_BYTES,
      } as ZlibOptions);
      const chunks: Buffer[] = [];
      gzip.on('data', (chunk: Buffer) => chunks.push(chunk));
      const ended = once(gzip, 'end');
      ended.catch(() => undefined); // awaited by close; this only keeps an early failure from being "unhandled"
      blob = { gzip, pending: [], pendingBytes: 0, chunks, owners: [], ended };
      this.blobs.set(name, blob);
    }
    blob.owners.push(owner);
    const bytes = typeof line === 'string' ? Buffer.from(line, 'utf8') : line;
    blob.pending.push(bytes, NEWLINE);
    blob.pendingBytes += bytes.length + 1;
    if (blob.pendingBytes >= COMPRESSOR_INPUT_BYTES && !compress(blob)) {
      if (blob.gzip.errored) throw blob.gzip.errored;
      await once(blob.gzip, 'drain');
    }
  }

  /** Drops every blob unwritten: the batch runs again. */
  abandon(): void {
    for (const blob of this.blobs.values()) blob.gzip.destroy();
    this.blobs.clear();
  }

  /** Finishes every blob and writes them side by side. */
  async close(): Promise<ArchiveResult[]> {
    return Promise.all(
      [...this.blobs].map(async ([name, blob]): Promise<ArchiveResult> => {
        compress(blob);
        blob.gzip.end();
        await blob.ended;
        const content = Buffer.concat(blob.chunks);
        try {
          const created = await this.sink.create(name, content, {
            origin: this.origin,
            events: blob.owners.length,
          });
          return { name, owners: blob.owners, ok: true, created: created === 'created' };
        } catch (error) {
          return {
            name,
            owners: blob.owners,
            ok: false,
            failure: describeFailure(error),
            lines: ndjsonLines(content),
          };
        }
      }),
    );
  }
}

/** Hands the pending lines to the compressor; false when it asks the caller to wait. */
function compress(blob: OpenBlob): boolean {
  if (blob.pendingBytes === 0) return true;
  const input = Buffer.concat(blob.pending, blob.pendingBytes);
  blob.pending = [];
  blob.pendingBytes = 0;
  return blob.gzip.write(input);
}

/** Gzip NDJSON of `lines`, as the archive holds them (the redrive writes parked lines this way). */
export function archiveContent(lines: readonly string[]): Buffer {
  return gzipSync(Buffer.from(`${lines.join('\n')}\n`, 'utf8'), { level: ARCHIVE_GZIP_LEVEL });
}

function ndjsonLines(content: Buffer): string[] {
  return gunzipSync(content).toString('utf8').split('\n').filter(Boolean);
}
