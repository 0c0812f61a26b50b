import type { SecurityCenter } from '@azure/arm-security';
import pLimit from 'p-limit';
import type { GraphRecord, GraphSource } from '../azure/resourceGraph';
import { describeFailure, failureText } from '../sinks/deliveryFailure';
import { toAutomation, type EstateReader } from './estate';
import type { Automation, Subscription } from './model';

/** Resource Graph answers for at most this many subscriptions per request. */
const SUBSCRIPTIONS_PER_QUERY = 1000;

const SUBSCRIPTIONS_QUERY = [
  'resourcecontainers',
  "| where type =~ 'microsoft.resources/subscriptions'",
  '| order by id asc',
  '| project id, name, subscriptionId, properties',
].join('\n');

const AUTOMATIONS_QUERY = [
  'resources',
  "| where type =~ 'microsoft.security/automations'",
  '| order by id asc',
  '| project id, name, type, subscriptionId, resourceGroup, location, tags, properties',
].join('\n');

/** What the reconciler reads the estate through: Resource Manager (EstateReader) or Resource Graph (below). */
export interface Estate {
  /** Where the estate was read: said in the report. */
  readonly source: string;
  subscriptions(scope?: readonly string[]): AsyncGenerator<Subscription & { error?: string }>;
  automations(subscriptionId: string): Promise<Automation[] | { error: string; unreachable?: boolean }>;
  security(subscriptionId: string): SecurityCenter;
  /**
   * The automations again, through Resource Manager: for a subscription whose status changed, before an
   * alert is raised on what a lagging index said. Absent when the estate is read through Resource Manager.
   */
  confirm?(subscriptionId: string): Promise<Automation[] | { error: string; unreachable?: boolean }>;
}

/**
 * The estate through Azure Resource Graph: every subscription from `resourcecontainers` and every automation
 * from `resources`, in pages of 1,000 rows, at most 1,000 subscriptions a query, a few queries at once —
 * about 200 requests for 100,000 subscriptions, where Resource Manager takes one per subscription. A
 * subscription Resource Graph does not return (a new one it has not indexed yet, or one in scope it does
 * not show) is read through Resource Manager, as is the whole estate when Resource Graph cannot be asked.
 * Resource Graph only shows what the identity may read: a subscription whose automations it may not read
 * looks like one without any, which is why a change of status is confirmed through Resource Manager
 * (`confirm`) before it is alerted on.
 */
export class GraphEstateReader implements Estate {
  source = 'Resource Graph';
  /** The automations of every subscription Resource Graph returned (none: an empty list). */
  private readonly automationsBySubscription = new Map<string, Automation[]>();

  constructor(
    private readonly graph: GraphSource,
    private readonly arm: EstateReader,
    private readonly concurrency = 4,
  ) {}

  security(subscriptionId: string): SecurityCenter {
    return this.arm.security(subscriptionId);
  }

  async *subscriptions(scope?: readonly string[]): AsyncGenerator<Subscription & { error?: string }> {
    this.automationsBySubscription.clear();
    this.source = 'Resource Graph';
    let listed: Subscription[];
    try {
      listed = await this.listSubscriptions(scope);
      await this.loadAutomations(listed.map((s) => s.subscriptionId));
    } catch (error) {
      // Resource Graph cannot be asked (throttled past retries, refused, down): Resource Manager, as before.
      this.automationsBySubscription.clear();
      this.source = `Resource Manager (Resource Graph failed: ${failureText(describeFailure(error))})`;
      yield* this.arm.subscriptions(scope);
      return;
    }
    if (!scope && listed.length === 0) {
      // Resource Graph shows a subscription only to an identity that may read it: none is no answer.
      this.automationsBySubscription.clear();
      this.source = 'Resource Manager (Resource Graph returned no subscription)';
      yield* this.arm.subscriptions();
      return;
    }
    yield* listed;
    const found = new Set(listed.map((s) => s.subscriptionId));
    if (scope) {
      // In scope but not in Resource Graph: Resource Manager says what it is (Unknown when it cannot be read).
      const missing = scope.filter((id) => !found.has(id.toLowerCase()));
      if (missing.length > 0) yield* this.arm.subscriptions(missing);
      return;
    }
    // Judged before but not returned now: not indexed (yet), or gone. Resource Manager tells which; one it
    // cannot read any more is gone, as it would be from Resource Manager's own list.
    const known = (await this.arm.knownSubscriptions()).filter((id) => !found.has(id));
    if (known.length === 0) return;
    for await (const s of this.arm.subscriptions(known)) if (s.state !== 'Unreadable') yield s;
  }

  async automations(
    subscriptionId: string,
  ): Promise<Automation[] | { error: string; unreachable?: boolean }> {
    return (
      this.automationsBySubscription.get(subscriptionId.toLowerCase()) ?? this.arm.automations(subscriptionId)
    );
  }

  confirm(subscriptionId: string): Promise<Automation[] | { error: string; unreachable?: boolean }> {
    return this.arm.automations(subscriptionId);
  }

  private async listSubscriptions(scope?: readonly string[]): Promise<Subscription[]> {
    const rows = await this.readAll(SUBSCRIPTIONS_QUERY, scope ? chunks(scope) : [[]]);
    return rows.map((row) => ({
      subscriptionId: String(row.subscriptionId ?? row.id.split('/').pop()).toLowerCase(),
      displayName: displayNameOf(row),
      state: String((row.properties as { state?: unknown } | undefined)?.state ?? 'Enabled'),
    }));
  }

  private async loadAutomations(subscriptionIds: readonly string[]): Promise<void> {
    for (const id of subscriptionIds) this.automationsBySubscription.set(id, []);
    const rows = await this.readAll(AUTOMATIONS_QUERY, chunks(subscriptionIds));
    for (const row of rows) {
      const subscriptionId = String(row.subscriptionId ?? '').toLowerCase();
      const list = this.automationsBySubscription.get(subscriptionId);
      if (!list) continue;
      list.push(
        toAutomation({
          ...((row.properties ?? {}) as Parameters<typeof toAutomation>[0]),
          id: row.id,
          name: row.name,
          ...(typeof row.location === 'string' && row.location ? { location: row.location } : {}),
          ...(row.tags && typeof row.tags === 'object' ? { tags: row.tags as Record<string, string> } : {}),
        }),
      );
    }
  }

  /** Every page of a query over each chunk of subscriptions (`[]`: every one the identity may read). */
  private async readAll(
    query: string,
    subscriptionChunks: ReadonlyArray<readonly string[]>,
  ): Promise<GraphRecord[]> {
    const limit = pLimit(this.concurrency);
    const pages = await Promise.all(
      subscriptionChunks.map((subscriptions) =>
        limit(async () => {
          const rows: GraphRecord[] = [];
          let skipToken: string | undefined;
          do {
            const page = await this.graph.page(query, subscriptions, skipToken ? { skipToken } : {});
            rows.push(...page.records);
            skipToken = page.skipToken;
          } while (skipToken);
          return rows;
        }),
      ),
    );
    return pages.flat();
  }
}

function chunks(ids: readonly string[]): string[][] {
  const all = [...new Set(ids.map((id) => id.toLowerCase()))];
  const out: string[][] = [];
  for (let i = 0; i < all.length; i += SUBSCRIPTIONS_PER_QUERY)
    out.push(all.slice(i, i + SUBSCRIPTIONS_PER_QUERY));
  return out;
}

/** A subscription row's display name: `properties.displayName` where the row has it, else its `name`. */
function displayNameOf(row: GraphRecord): string {
  const fromProperties = (row.properties as { displayName?: unknown } | undefined)?.displayName;
  return typeof fromProperties === 'string' ? fromProperties : String(row.name ?? '');
}
