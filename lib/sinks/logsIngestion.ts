import type { TokenCredential } from '@azure/core-auth';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { isAggregateLogsUploadError, LogsIngestionClient } from '@azure/monitor-ingestion';
import { promisify } from 'node:util';
import { gzip as gzipCallback, constants as zlib } from 'node:zlib';
import type { LogsRow } from '../records/row';
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

/**
 * Sends rows to a Data Collection Rule stream through the real LogsIngestionClient. The API refuses a whole
 * request for one bad row; a refused chunk is halved and resent until the rows it refuses stand alone, so
 * only they are dead-lettered. What fails for a passing reason is handed back for parking.
 */
export class LogsIngestionSink {
  readonly client: LogsIngestionClient;

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

  private async attempt(stream: string, rows: LogsRow[], outcome: LogsOutcome): Promise<void> {
    if (rows.length === 0) return;
    const failures: Array<{ rows: LogsRow[]; failure: DeliveryFailure }> = [];
    try {
      await this.client.upload(this.options.ruleId, stream, rows as unknown as Record<string, unknown>[], {
        maxConcurrency: this.options.maxConcurrency ?? 5,
      });
    } catch (error) {
      if (!isAggregateLogsUploadError(error)) {
        failures.push({ rows, failure: describeFailure(error) });
      } else {
        // Log `errors[].cause`, never the aggregate's message: it is literally "undefined".
        for (const { cause, failedLogs } of error.errors) {
          failures.push({ rows: failedLogs as unknown as LogsRow[], failure: describeFailure(cause) });
        }
      }
    }
    const notDelivered = new Set(failures.flatMap((f) => f.rows));
    for (const row of rows) if (!notDelivered.has(row)) outcome.delivered.push(row);
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
