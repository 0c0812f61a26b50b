import { ResourceGraphClient } from '@azure/arm-resourcegraph';
import type { TokenCredential } from '@azure/core-auth';
import { RestError } from '@azure/core-rest-pipeline';
import type { GraphPage, GraphSource } from './backfill';
import type { GraphRecord } from './mapping';

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

/** Retries of a 429 (each after its Retry-After) before the error reaches the caller. */
const THROTTLED_RETRIES = 4;

/**
 * The 429 retry `@azure/arm-resourcegraph` 4.x lacks: its legacy client (ms-rest-js) turns a 429 into an
 * error before its own throttling policy sees it (Azure/azure-sdk-for-js#7989). Waits Retry-After, else the
 * quota's reset, else 1 s.
 */
const retryThrottled = (onThrottled: (waitMs: number) => void): RequestPolicyFactory => ({
  create: (next) => ({
    async sendRequest(request) {
      for (let attempt = 1; ; attempt++) {
        try {
          return await next.sendRequest(request.clone());
        } catch (e) {
          const error = e as {
            statusCode?: number;
            response?: { headers: { get(n: string): string | undefined } };
          };
          if (error.statusCode !== 429 || attempt > THROTTLED_RETRIES) throw e;
          const headers = error.response?.headers;
          const seconds = Number(headers?.get('retry-after'));
          const wait =
            seconds >= 0
              ? seconds * 1000
              : resetsAfterMs(headers?.get('x-ms-user-quota-resets-after')) || 1000;
          onThrottled(wait);
          await new Promise((resolve) => setTimeout(resolve, wait));
        }
      }
    },
  }),
});

/**
 * Resource Graph through `@azure/arm-resourcegraph` (with the 429 retry above). Beyond that it honours the
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
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {
    this.client = new ResourceGraphClient(credential, {
      baseUri: endpoint.replace(/\/+$/, ''),
      // A 429 to one unit holds the others back too: they share the caller's quota.
      requestPolicyFactories: (defaults) => [
        retryThrottled((waitMs) => (this.notBefore = Math.max(this.notBefore, Date.now() + waitMs))),
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
        subscriptions: [...subscriptions],
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
      };
    } catch (error) {
      // The legacy client's errors, in the shape the rest of the code reads (status and code).
      const { statusCode, code, message } = (error ?? {}) as {
        statusCode?: number;
        code?: string;
        message?: string;
      };
      if (typeof statusCode !== 'number') throw error;
      throw new RestError(message ?? `HTTP ${statusCode}`, { statusCode, ...(code ? { code } : {}) });
    }
  }
}
