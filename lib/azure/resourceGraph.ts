import { ResourceGraphClient } from '@azure/arm-resourcegraph';
import type { TokenCredential } from '@azure/core-auth';
import { RestError } from '@azure/core-rest-pipeline';

/** One row of a Resource Graph answer (`objectArray`): the columns the query projects. */
export interface GraphRecord {
  id: string;
  name: string;
  type: string;
  tenantId?: string;
  subscriptionId?: string;
  resourceGroup?: string;
  location?: string;
  properties?: Record<string, unknown>;
  [column: string]: unknown;
}

/** One page of a Resource Graph query. */
export interface GraphPage {
  records: GraphRecord[];
  /** The token of the next page; none on the last. */
  skipToken?: string;
  /** Rows the query matches in all (Resource Graph's `totalRecords`). */
  totalRecords: number;
  /** Resource Graph left rows out that no page will give (`resultTruncated`: a `limit`, or a `summarize`'s later pages). */
  truncated?: boolean;
}

/** Reads Resource Graph (AzureResourceGraph below, or a twin in tests). */
export interface GraphSource {
  page(
    query: string,
    subscriptions: readonly string[],
    options?: { skipToken?: string; top?: number },
  ): Promise<GraphPage>;
}

/** The detail of Resource Graph's refusal of a tenant-wide query over 18,000 subscriptions. */
export const TOO_MANY_SUBSCRIPTIONS = 'TooManySubscriptionsUnderScope';

/** Whether a Resource Graph failure carries the detail `code` (its errors nest the cause in `details`). */
export function hasGraphDetail(error: unknown, code: string): boolean {
  const details = error instanceof RestError ? error.details : undefined;
  return Array.isArray(details) && details.some((d) => (d as { code?: unknown } | null)?.code === code);
}

/** `hh:mm:ss` (Resource Graph's x-ms-user-quota-resets-after) in milliseconds. */
export function resetsAfterMs(value: string | undefined): number {
  const match = /^(\d+):(\d\d):(\d\d)$/.exec(value?.trim() ?? '');
  if (!match) return 0;
  return ((Number(match[1]) * 60 + Number(match[2])) * 60 + Number(match[3])) * 1000;
}

// The client's own copy of ms-rest-js types its policies; they are taken from its options, not imported.
type ClientOptions = NonNullable<ConstructorParameters<typeof ResourceGraphClient>[1]>;
type RequestPolicyFactory = Parameters<
  Extract<NonNullable<ClientOptions['requestPolicyFactories']>, (...args: never[]) => unknown>
>[0][number];

/** The retry of Resource Graph requests (default: 3 retries from 1 s, doubling, at most 30 s apart). */
export interface GraphRetry {
  maxRetries?: number;
  retryDelayInMs?: number;
  maxRetryDelayInMs?: number;
}

/**
 * The retry `@azure/arm-resourcegraph` 4.x should have, in place of its own: its legacy client (ms-rest-js)
 * turns a 429 into an error before its throttling policy sees it (Azure/azure-sdk-for-js#7989), and retries
 * 5xx from 30 s up to 90 s apart, so an outage would hold a reconciliation for minutes before it could say
 * so. Here: a 429 waits Retry-After (else the quota's reset, else the delay); 408, 5xx and a request that
 * got no answer wait the delay, doubling; as the core pipeline's retry does for the other clients.
 */
const retrying = (retry: GraphRetry, onThrottled: (waitMs: number) => void): RequestPolicyFactory => ({
  create: (next) => ({
    async sendRequest(request) {
      const maxRetries = retry.maxRetries ?? 3;
      const base = retry.retryDelayInMs ?? 1000;
      const most = retry.maxRetryDelayInMs ?? 30_000;
      for (let attempt = 0; ; attempt++) {
        try {
          return await next.sendRequest(request.clone());
        } catch (e) {
          const error = e as {
            statusCode?: number;
            response?: { headers: { get(n: string): string | undefined } };
          };
          const status = error.statusCode;
          const transient = status === undefined || status === 408 || status === 429 || status >= 500;
          if (!transient || attempt >= maxRetries) throw e;
          const headers = error.response?.headers;
          const seconds = Number(headers?.get('retry-after'));
          const backoff = Math.min(most, base * 2 ** attempt);
          const wait =
            status !== 429
              ? backoff
              : seconds >= 0
                ? seconds * 1000
                : resetsAfterMs(headers?.get('x-ms-user-quota-resets-after')) || backoff;
          if (status === 429) onThrottled(wait);
          await new Promise((resolve) => setTimeout(resolve, wait));
        }
      }
    },
  }),
});

/**
 * Resource Graph through `@azure/arm-resourcegraph` (with the retry above). Beyond that it honours the
 * user quota Resource Graph announces on every answer: once `x-ms-user-quota-remaining` reaches 0, no request
 * starts before `x-ms-user-quota-resets-after` has passed, for every unit reading at once (Microsoft's
 * guidance for throttled requests).
 */
export class AzureResourceGraph implements GraphSource {
  private readonly client: ResourceGraphClient;
  /** When the next request may start (epoch ms): the quota's reset, once it is spent. */
  private notBefore = 0;
  /** Requests that waited for the quota to reset. */
  waited = 0;

  constructor(
    credential: TokenCredential,
    endpoint: string,
    retry: GraphRetry = {},
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {
    this.client = new ResourceGraphClient(credential, {
      baseUri: endpoint.replace(/\/+$/, ''),
      noRetryPolicy: true,
      // A 429 to one request holds the others back too: they share the caller's quota.
      requestPolicyFactories: (defaults) => [
        retrying(retry, (waitMs) => (this.notBefore = Math.max(this.notBefore, Date.now() + waitMs))),
        ...defaults,
      ],
    });
  }

  async page(
    query: string,
    subscriptions: readonly string[],
    options: { skipToken?: string; top?: number } = {},
  ): Promise<GraphPage> {
    const wait = this.notBefore - Date.now();
    if (wait > 0) {
      this.waited++;
      await this.sleep(wait);
    }
    try {
      const response = await this.client.resources({
        // None: every subscription the identity may read.
        ...(subscriptions.length > 0 ? { subscriptions: [...subscriptions] } : {}),
        query,
        options: {
          resultFormat: 'objectArray',
          ...(options.skipToken ? { skipToken: options.skipToken } : {}),
          ...(options.top ? { top: options.top } : {}),
        },
      });
      const headers = response._response.headers;
      if (Number(headers.get('x-ms-user-quota-remaining') ?? 1) <= 0)
        this.notBefore = Date.now() + resetsAfterMs(headers.get('x-ms-user-quota-resets-after'));
      return {
        records: (response.data ?? []) as GraphRecord[],
        ...(response.skipToken ? { skipToken: response.skipToken } : {}),
        totalRecords: response.totalRecords,
        ...(String(response.resultTruncated) === 'true' ? { truncated: true } : {}),
      };
    } catch (error) {
      // The legacy client's errors, in the shape the rest of the code reads (status and code).
      const { statusCode, code, message, body } = (error ?? {}) as {
        statusCode?: number;
        code?: string;
        message?: string;
        body?: { error?: { details?: unknown } };
      };
      if (typeof statusCode !== 'number') throw error;
      const failure = new RestError(message ?? `HTTP ${statusCode}`, {
        statusCode,
        ...(code ? { code } : {}),
      });
      // The details say what went wrong (e.g. TooManySubscriptionsUnderScope); the message only where to ask.
      if (Array.isArray(body?.error?.details)) failure.details = body.error.details;
      throw failure;
    }
  }
}
