import type { TokenCredential } from '@azure/core-auth';
import { SecurityCenter, type AutomationActionUnion } from '@azure/arm-security';
import { SubscriptionClient } from '@azure/arm-resources-subscriptions';
import { createDefaultHttpClient, type HttpClient } from '@azure/core-rest-pipeline';
import { describeFailure, failureText } from '../sinks/deliveryFailure';
import type { Automation, Subscription } from './model';

/** States in which a subscription exports nothing and is not judged. */
export const INACTIVE_STATES = new Set(['disabled', 'deleted']);

export interface EstateOptions {
  endpoint: string;
  credential: TokenCredential;
}

/** Reads subscriptions and their continuous export settings through the Azure SDK clients. */
export class EstateReader {
  private readonly subscriptionClient: SubscriptionClient;
  /**
   * One HTTP client (and so one pool of kept-alive connections) for every per-subscription client: without
   * it each subscription paid a TLS handshake of its own (10,000 subscriptions: 55 s before, see
   * docs/performance.md).
   */
  private readonly httpClient: HttpClient = createDefaultHttpClient();

  constructor(private readonly options: EstateOptions) {
    this.subscriptionClient = new SubscriptionClient(options.credential, this.clientOptions());
  }

  /** A sovereign cloud's Resource Manager wants tokens for its own audience. */
  clientOptions() {
    const endpoint = this.options.endpoint.replace(/\/+$/, '');
    return { endpoint, credentialScopes: [`${endpoint}/.default`], httpClient: this.httpClient };
  }

  /** The security client for one subscription (its pipeline is also what remediation writes with). */
  security(subscriptionId: string): SecurityCenter {
    return new SecurityCenter(this.options.credential, subscriptionId, this.clientOptions());
  }

  /**
   * Every subscription the identity can see (paged by nextLink), or those in `scope`. A scoped one the
   * identity cannot see comes back with state `Unreadable` and the reason.
   */
  async *subscriptions(scope?: readonly string[]): AsyncGenerator<Subscription & { error?: string }> {
    if (!scope) {
      for await (const s of this.subscriptionClient.subscriptions.list()) {
        if (!s.subscriptionId) continue;
        yield {
          subscriptionId: s.subscriptionId.toLowerCase(),
          displayName: s.displayName ?? '',
          state: s.state ?? 'Enabled',
        };
      }
      return;
    }
    for (const id of scope) {
      try {
        const s = await this.subscriptionClient.subscriptions.get(id);
        yield {
          subscriptionId: id.toLowerCase(),
          displayName: s.displayName ?? '',
          state: s.state ?? 'Enabled',
        };
      } catch (error) {
        yield {
          subscriptionId: id.toLowerCase(),
          displayName: '',
          state: 'Unreadable',
          error: failureText(describeFailure(error)),
        };
      }
    }
  }

  /** The subscription's automations (all pages), or why they could not be read (403 and the like). */
  async automations(subscriptionId: string): Promise<Automation[] | { error: string }> {
    try {
      const found: Automation[] = [];
      for await (const a of this.security(subscriptionId).automations.list()) {
        found.push({
          id: a.id ?? '',
          name: a.name ?? '',
          ...(a.location ? { location: a.location } : {}),
          ...(a.tags ? { tags: a.tags } : {}),
          isEnabled: a.isEnabled === true,
          scopes: (a.scopes ?? []).map((s) => s.scopePath ?? '').filter(Boolean),
          sources: (a.sources ?? []).map((source) => ({
            eventSource: source.eventSource ?? '',
            ruleSets: (source.ruleSets ?? []).map((set) => ({
              rules: (set.rules ?? []).map((rule) => ({
                propertyJPath: rule.propertyJPath ?? '',
                expectedValue: rule.expectedValue ?? '',
                operator: rule.operator ?? '',
              })),
            })),
          })),
          destinations: (a.actions ?? []).flatMap(destinationOf),
        });
      }
      return found;
    } catch (error) {
      return { error: failureText(describeFailure(error)) };
    }
  }
}

function destinationOf(action: AutomationActionUnion): string[] {
  if (action.actionType === 'EventHub' && 'eventHubResourceId' in action && action.eventHubResourceId)
    return [action.eventHubResourceId];
  if (action.actionType === 'Workspace' && 'workspaceResourceId' in action && action.workspaceResourceId)
    return [action.workspaceResourceId];
  return [];
}
