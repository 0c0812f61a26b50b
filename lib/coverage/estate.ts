import type { SecurityCenter, AutomationActionUnion } from '@azure/arm-security';
import type { SubscriptionClient } from '@azure/arm-resources-subscriptions';
import { describeFailure, failureText } from '../sinks/deliveryFailure';
import type { Automation, Subscription } from './model';

/** States in which a subscription exports nothing and is not judged. */
export const INACTIVE_STATES = new Set(['disabled', 'deleted']);

/** The Resource Manager clients the estate is read with (made by lib/azure/clients.ts). */
export interface ResourceManagerClients {
  subscriptions: SubscriptionClient;
  /** The security client for one subscription (its pipeline is also what remediation writes with). */
  security(subscriptionId: string): SecurityCenter;
}

/** Reads subscriptions and their continuous export settings through the Azure SDK clients. */
export class EstateReader {
  private readonly subscriptionClient: SubscriptionClient;

  constructor(private readonly clients: ResourceManagerClients) {
    this.subscriptionClient = clients.subscriptions;
  }

  security(subscriptionId: string): SecurityCenter {
    return this.clients.security(subscriptionId);
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
