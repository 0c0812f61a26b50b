import type { TokenCredential } from '@azure/core-auth';
import {
  createDefaultHttpClient,
  createPipelineRequest,
  RestError,
  type HttpClient,
  type PipelinePolicy,
  type PipelineResponse,
} from '@azure/core-rest-pipeline';
import { LogsIngestionClient } from '@azure/monitor-ingestion';
import { promisify } from 'node:util';
import { gzip as gzipCallback, constants as zlib } from 'node:zlib';
import { serializedRow, type LogsRow } from '../records/row';
import { describeFailure, type DeliveryFailure } from './deliveryFailure';

const gzip = promisify(gzipCallback);

/** What became of the rows given to one send: every row ends in exactly one of the three lists. */
export interface LogsOutcome {
  delivered: LogsRow[];
  /** Refused for what they are (400, 413), isolated row by row: dead-letter them. */
  rejected: Array<{ row: LogsRow; failure: DeliveryFailure }>;
  /** Could not be delivered now (429 or 5xx after the SDK's retries, network, auth): park them. */
  failed: Array<{ rows: LogsRow[]; failure: DeliveryFailure }>;
}

export interface LogsSinkOptions {
  endpoint: string;
  ruleId: string;
  credential: TokenCredential;
  /** zlib level for request bodies; the SDK's own policy uses the default (6). */
  gzipLevel?: number;
  /** The SDK's retry of 429 and 5xx (it honours Retry-After); tests shorten the delays. */
  retry?: { maxRetries?: number; retryDelayInMs?: number; maxRetryDelayInMs?: number };
  maxConcurrency?: number;
  /** Longest wait for one call (default 60 s): a hung connection must not hold the batch until the function times out. */
  timeoutMs?: number;
}

/** The SDK compresses in a pipeline policy named GzippingPolicy; ours does the same at a chosen level. */
function gzipPolicy(level: number): PipelinePolicy {
  return {
    name: 'GzippingPolicy',
    async sendRequest(request, next) {
      if (typeof request.body === 'string' || Buffer.isBuffer(request.body)) {
        request.body = await gzip(request.body, { level });
      }
      return next(request);
    },
  };
}

const PERMANENT = new Set([400, 413]);
/** The SDK's own chunk size: the API takes 1 MB per call. */
const MAX_CHUNK_BYTES = 1_000_000;
const API_VERSION = '2023-01-01';

/**
 * Cuts rows into consecutive chunks whose JSON array takes less than MAX_CHUNK_BYTES (a bigger row goes
 * alone), as the SDK does, but one chunk at a time as senders ask for it, so only the chunks in flight are
 * held in memory. Each row is encoded to UTF-8 once: the bytes size the chunk and become its body.
 */
function chunker(rows: LogsRow[]): () => { rows: LogsRow[]; body: Buffer } | undefined {
  let next = 0;
  let pending: Buffer | undefined; // the row that did not fit in the previous chunk
  return () => {
    if (next >= rows.length) return undefined;
    const start = next;
    const parts: Buffer[] = [];
    let size = 0; // "[", the rows and the commas between them
    while (next < rows.length) {
      const bytes = pending ?? Buffer.from(serializedRow(rows[next]!), 'utf8');
      pending = undefined;
      if (parts.length > 0 && size + bytes.length + 1 >= MAX_CHUNK_BYTES) {
        pending = bytes;
        break;
      }
      parts.push(parts.length === 0 ? OPEN : COMMA, bytes);
      size += 1 + bytes.length;
      next++;
    }
    parts.push(CLOSE);
    return { rows: rows.slice(start, next), body: Buffer.concat(parts, size + 1) };
  };
}
const OPEN = Buffer.from('[');
const COMMA = Buffer.from(',');
const CLOSE = Buffer.from(']');

/** The service's error as a RestError, so failures read the same whether the call threw or answered. */
function responseError(response: PipelineResponse): RestError {
  let code = response.headers.get('x-ms-error-code') ?? undefined;
  let message = `HTTP ${response.status}`;
  try {
    const body = JSON.parse(response.bodyAsText ?? '') as { error?: { code?: string; message?: string } };
    code = body.error?.code ?? code;
    message = body.error?.message ?? message;
  } catch {
    // not JSON: keep the status line
  }
  return new RestError(message, {
    statusCode: response.status,
    request: response.request,
    response,
    ...(code ? { code } : {}),
  });
}

/**
 * Sends rows to a Data Collection Rule stream through the real LogsIngestionClient. The API refuses a whole
 * request for one bad row; a refused chunk is halved and resent until the rows it refuses stand alone, so
 * only they are dead-lettered. What fails for a passing reason is handed back for parking.
 */
export class LogsIngestionSink {
  readonly client: LogsIngestionClient;
  private readonly httpClient: HttpClient = createDefaultHttpClient();

  constructor(private readonly options: LogsSinkOptions) {
    this.client = new LogsIngestionClient(options.endpoint, options.credential, {
      ...(options.retry ? { retryOptions: options.retry } : {}),
    });
    if (options.gzipLevel !== undefined && options.gzipLevel !== zlib.Z_DEFAULT_COMPRESSION) {
      this.client.pipeline.removePolicy({ name: 'GzippingPolicy' });
      this.client.pipeline.addPolicy(gzipPolicy(options.gzipLevel));
    }
  }

  async send(stream: string, rows: LogsRow[]): Promise<LogsOutcome> {
    const outcome: LogsOutcome = { delivered: [], rejected: [], failed: [] };
    await this.attempt(stream, rows, outcome);
    return outcome;
  }

  /**
   * Posts one chunk through the LogsIngestionClient's own pipeline (its bearer-token policy, its retry of 429
   * and 5xx honouring Retry-After, the gzip policy). Not through `upload()`: that serialises every row twice
   * (once to size its chunks, once to send them), which measured as the largest single cost of delivery,
   * while our rows are serialised once (`serializedRow`) and reused for sizing and sending.
   */
  private async post(stream: string, body: Buffer): Promise<void> {
    const url =
      `${this.options.endpoint.replace(/\/+$/, '')}/dataCollectionRules/${encodeURIComponent(this.options.ruleId)}` +
      `/streams/${encodeURIComponent(stream)}?api-version=${API_VERSION}`;
    const request = createPipelineRequest({
      url,
      method: 'POST',
      body,
    });
    request.headers.set('content-type', 'application/json');
    request.headers.set('content-encoding', 'gzip');
    request.headers.set('accept', 'application/json');
    request.timeout = this.options.timeoutMs ?? 60_000;
    const response = await this.client.pipeline.sendRequest(this.httpClient, request);
    if (response.status !== 204 && response.status !== 200) throw responseError(response);
  }

  private async attempt(stream: string, rows: LogsRow[], outcome: LogsOutcome): Promise<void> {
    if (rows.length === 0) return;
    const failures: Array<{ rows: LogsRow[]; failure: DeliveryFailure }> = [];
    const nextChunk = chunker(rows);
    const sender = async () => {
      for (let chunk = nextChunk(); chunk; chunk = nextChunk()) {
        try {
          await this.post(stream, chunk.body);
          for (const row of chunk.rows) outcome.delivered.push(row);
        } catch (error) {
          failures.push({ rows: chunk.rows, failure: describeFailure(error) });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, this.options.maxConcurrency ?? 5) }, sender));
    for (const { rows: chunk, failure } of failures) {
      if (failure.status === undefined || !PERMANENT.has(failure.status)) {
        outcome.failed.push({ rows: chunk, failure });
      } else if (chunk.length === 1) {
        outcome.rejected.push({ row: chunk[0]!, failure });
      } else {
        const half = Math.ceil(chunk.length / 2);
        await this.attempt(stream, chunk.slice(0, half), outcome);
        await this.attempt(stream, chunk.slice(half), outcome);
      }
    }
  }
}
