import type { SecurityCenter, AutomationActionUnion } from '@azure/arm-security';
import type { SubscriptionClient } from '@azure/arm-resources-subscriptions';
import { isRestError } from '@azure/core-rest-pipeline';
import { ActionableError } from '../errors';
import { describeFailure, failureText } from '../sinks/deliveryFailure';
import type { Automation, Subscription } from './model';

/** Errors of @azure/identity: no token could be had, so Resource Manager was never asked. */
const CREDENTIAL_ERRORS = new Set([
  'CredentialUnavailableError',
  'AuthenticationError',
  'AggregateAuthenticationError',
  'AuthenticationRequiredError',
]);

/**
 * Whether a Resource Manager call failed without Resource Manager saying anything about the subscription:
 * no response at all (DNS, refused or reset connection, TLS, timeout), 5xx, 408 or 429 after the SDK's
 * retries, or no token. Such a failure is the Unreachable status, not Unknown (which is ARM refusing access:
 * 401, 403, 404).
 */
export function isUnreachable(error: unknown): boolean {
  if (isRestError(error)) {
    const status = error.statusCode;
    return status === undefined || status >= 500 || status === 408 || status === 429;
  }
  const name = (error as { name?: unknown } | null)?.name;
  return (
    typeof name === 'string' &&
    (CREDENTIAL_ERRORS.has(name) || name === 'AbortError' || name === 'TimeoutError')
  );
}

/** Subscriptions judged before (from the coverage state): what a run reports when the list cannot be read. */
export type KnownSubscriptions = () => Promise<
  Iterable<Pick<Subscription, 'subscriptionId' | 'displayName'>>
>;

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
  readonly source = 'Resource Manager';
  private readonly subscriptionClient: SubscriptionClient;
  /** Subscriptions Resource Manager could not be asked about this run, and why: not asked again. */
  private readonly unreachable = new Map<string, string>();

  /**
   * `known` lists the subscriptions judged before; when the subscription list itself cannot be read, those
   * are reported Unreachable rather than silently dropped (which would forget their state).
   */
  constructor(
    private readonly clients: ResourceManagerClients,
    private readonly known?: KnownSubscriptions,
  ) {
    this.subscriptionClient = clients.subscriptions;
  }

  security(subscriptionId: string): SecurityCenter {
    return this.clients.security(subscriptionId);
  }

  /** The ids of the subscriptions judged before (the coverage state), lower-cased. */
  async knownSubscriptions(): Promise<string[]> {
    return [...((await this.known?.()) ?? [])].map((k) => k.subscriptionId.toLowerCase());
  }

  /**
   * Every subscription the identity can see (paged by nextLink), or those in `scope`. A scoped one the
   * identity cannot see comes back with state `Unreadable` and the reason. When Resource Manager cannot be
   * reached (isUnreachable), a scoped subscription, or every known one the list did not reach, comes back
   * with state `Unreachable`, and `automations()` then answers for it without asking again. A list that
   * fails before anything is known throws an ActionableError: there is nothing to report.
   */
  async *subscriptions(scope?: readonly string[]): AsyncGenerator<Subscription & { error?: string }> {
    this.unreachable.clear(); // one run's knowledge: a worker reuses the reader for the next run
    if (!scope) {
      const listed = new Set<string>();
      let failure: unknown;
      try {
        for await (const s of this.subscriptionClient.subscriptions.list()) {
          if (!s.subscriptionId) continue;
          const subscriptionId = s.subscriptionId.toLowerCase();
          listed.add(subscriptionId);
          yield { subscriptionId, displayName: s.displayName ?? '', state: s.state ?? 'Enabled' };
        }
      } catch (error) {
        if (!isUnreachable(error)) throw error;
        failure = error;
      }
      if (failure === undefined) return;
      const reason = `listing subscriptions: ${failureText(describeFailure(failure))}`;
      const rest = [...((await this.known?.()) ?? [])].filter(
        (k) => !listed.has(k.subscriptionId.toLowerCase()),
      );
      if (listed.size === 0 && rest.length === 0) {
        throw new ActionableError(
          `Resource Manager could not be reached to list subscriptions (${failureText(describeFailure(failure))}), and no subscription is known from an earlier run`,
          'Check AZURE_RESOURCE_MANAGER_ENDPOINT and the network path to it (DNS, proxy, firewall), and that the identity can get a token for it; then run again.',
          { cause: failure },
        );
      }
      for (const k of rest) {
        const subscriptionId = k.subscriptionId.toLowerCase();
        this.unreachable.set(subscriptionId, reason);
        yield { subscriptionId, displayName: k.displayName, state: 'Unreachable' };
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
        const reason = failureText(describeFailure(error));
        if (isUnreachable(error)) {
          this.unreachable.set(id.toLowerCase(), reason);
          yield { subscriptionId: id.toLowerCase(), displayName: '', state: 'Unreachable' };
          continue;
        }
        yield {
          subscriptionId: id.toLowerCase(),
          displayName: '',
          state: 'Unreadable',
          error: reason,
        };
      }
    }
  }

  /**
   * The subscription's automations (all pages), or why they could not be read: 403 and the like, or
   * `unreachable` when Resource Manager could not be asked (see isUnreachable).
   */
  async automations(
    subscriptionId: string,
  ): Promise<Automation[] | { error: string; unreachable?: boolean }> {
    const known = this.unreachable.get(subscriptionId.toLowerCase());
    if (known !== undefined) return { error: known, unreachable: true };
    try {
      const found: Automation[] = [];
      for await (const a of this.security(subscriptionId).automations.list()) found.push(toAutomation(a));
      return found;
    } catch (error) {
      return {
        error: failureText(describeFailure(error)),
        ...(isUnreachable(error) ? { unreachable: true } : {}),
      };
    }
  }
}

/** The automation as the judgement reads it, from the SDK's model or a Resource Graph row's properties. */
export function toAutomation(a: {
  id?: string;
  name?: string;
  location?: string;
  tags?: Record<string, string>;
  isEnabled?: boolean;
  scopes?: Array<{ scopePath?: string }>;
  sources?: Array<{
    eventSource?: string;
    ruleSets?: Array<{
      rules?: Array<{ propertyJPath?: string; expectedValue?: string; operator?: string }>;
    }>;
  }>;
  actions?: AutomationActionUnion[];
}): Automation {
  return {
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
  };
}

function destinationOf(action: AutomationActionUnion): string[] {
  if (action.actionType === 'EventHub' && 'eventHubResourceId' in action && action.eventHubResourceId)
    return [action.eventHubResourceId];
  if (action.actionType === 'Workspace' && 'workspaceResourceId' in action && action.workspaceResourceId)
    return [action.workspaceResourceId];
  return [];
}
