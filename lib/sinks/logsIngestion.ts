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
import type { LogsSink } from '../ports';

const gzip = promisify(gzipCallback);

export interface LogsSinkOptions {
  endpoint: string;
  ruleId: string;
  credential: TokenCredential;
  /** zlib level for request bodies; the SDK's own policy uses the default (6). */
  gzipLevel?: number;
  /** The SDK's retry of 429 and 5xx (it honours Retry-After); tests shorten the delays. */
  retry?: { maxRetries?: number; retryDelayInMs?: number; maxRetryDelayInMs?: number };
  /** Longest wait for one call (default 60 s): a hung connection must not hold the batch until the function times out. */
  timeoutMs?: number;
  /**
   * After a call could not even connect (DNS, refused), how long further calls fail at once instead of
   * each retrying again (default 30 s; 0: never). See AzureLogsSink.upload.
   */
  unreachableForMs?: number;
}

/** Codes of a call that never reached the service: nothing was sent, so failing the next ones fast loses nothing. */
const NOT_CONNECTED = new Set(['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED']);

const GZIP_CHUNK_BYTES = 1 << 20;

/** The SDK compresses in a pipeline policy named GzippingPolicy; ours does the same at a chosen level. */
function gzipPolicy(level: number): PipelinePolicy {
  return {
    name: 'GzippingPolicy',
    async sendRequest(request, next) {
      if (typeof request.body === 'string' || Buffer.isBuffer(request.body)) {
        // One thread-pool job for the whole body: with zlib's 16 KB output chunks, every chunk waited for a
        // turn of the (busy) main thread, and compression no longer ran beside the pipeline's own work.
        request.body = await gzip(request.body, { level, chunkSize: GZIP_CHUNK_BYTES });
      }
      return next(request);
    },
  };
}

const API_VERSION = '2023-01-01';

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
 * A Data Collection Rule endpoint through the real LogsIngestionClient's pipeline: its bearer-token policy,
 * its retry of 429 and 5xx honouring Retry-After, and a gzip policy at our level. Not through `upload()`:
 * that serialises every row twice (once to size its chunks, once to send them), which measured as the
 * largest single cost of delivery, while our rows arrive serialised and cut into requests (lib/outbox).
 */
export class AzureLogsSink implements LogsSink {
  readonly client: LogsIngestionClient;
  private readonly httpClient: HttpClient = createDefaultHttpClient();
  /** The last call that could not connect: when (performance.now(), monotonic) and how. */
  private notConnected?: { at: number; code: string; message: string };

  constructor(private readonly options: LogsSinkOptions) {
    this.client = new LogsIngestionClient(options.endpoint, options.credential, {
      ...(options.retry ? { retryOptions: options.retry } : {}),
    });
    if (options.gzipLevel !== undefined && options.gzipLevel !== zlib.Z_DEFAULT_COMPRESSION) {
      this.client.pipeline.removePolicy({ name: 'GzippingPolicy' });
      this.client.pipeline.addPolicy(gzipPolicy(options.gzipLevel));
    }
  }

  /**
   * Posts one request body. Retries are the SDK's: 429 and 5xx honouring Retry-After, and network errors
   * (ENOTFOUND, ECONNREFUSED, ECONNRESET, ETIMEDOUT) three times with exponential backoff from 1 s, about
   * 4 to 7 s in all. That is right for one call: in Azure a DNS or connection blip is usually over in
   * seconds. It is not right for a batch: every request of a batch (a few hundred for a large one, five at a
   * time) repeated those retries against a host that does not resolve, so an unresolvable
   * LOGS_INGESTION_ENDPOINT held the batch for a minute or more before its rows were parked anyway. So once
   * a call fails without connecting (NOT_CONNECTED, after the SDK's retries), the calls of the next
   * `unreachableForMs` fail at once with the same code, are parked like it, and reach the redrive; the
   * first call after that tries again (retries included). Calls that connected and failed (a reset mid-
   * request, 5xx, a timeout) are unaffected: they may have been received.
   */
  async upload(stream: string, body: Buffer): Promise<void> {
    const window = this.options.unreachableForMs ?? 30_000;
    const last = this.notConnected;
    if (last && performance.now() - last.at < window) {
      throw new RestError(
        `not sent: the previous call failed ${Math.round((performance.now() - last.at) / 1000)} s ago without connecting (${last.message})`,
        { code: last.code },
      );
    }
    try {
      await this.send(stream, body);
      this.notConnected = undefined;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (window > 0 && typeof code === 'string' && NOT_CONNECTED.has(code)) {
        this.notConnected = { at: performance.now(), code, message: (error as Error).message.slice(0, 200) };
      }
      throw error;
    }
  }

  private async send(stream: string, body: Buffer): Promise<void> {
    const url =
      `${this.options.endpoint.replace(/\/+$/, '')}/dataCollectionRules/${encodeURIComponent(this.options.ruleId)}` +
      `/streams/${encodeURIComponent(stream)}?api-version=${API_VERSION}`;
    const request = createPipelineRequest({ url, method: 'POST', body });
    request.headers.set('content-type', 'application/json');
    request.headers.set('content-encoding', 'gzip');
    request.headers.set('accept', 'application/json');
    request.timeout = this.options.timeoutMs ?? 60_000;
    const response = await this.client.pipeline.sendRequest(this.httpClient, request);
    if (response.status !== 204 && response.status !== 200) throw responseError(response);
  }
}
