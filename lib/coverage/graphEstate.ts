import type { SecurityCenter } from '@azure/arm-security';
import pLimit from 'p-limit';
import { hasGraphDetail, type GraphRecord, type GraphSource } from '../azure/resourceGraph';
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
 * about 200 requests for 100,000 subscriptions, where Resource Manager takes one per subscription. Over
 * 18,000 subscriptions Resource Graph refuses a tenant-wide query, so Resource Manager lists them and
 * Resource Graph answers for them a thousand at a time. A subscription Resource Graph does not return (a
 * new one it has not indexed yet, or one in scope it does not show) is read through Resource Manager, as is
 * the whole estate when Resource Graph cannot be asked. Resource Graph only shows what the identity may
 * read: a subscription whose automations it may not read looks like one without any, which is why a change
 * of status is confirmed through Resource Manager (`confirm`) before it is alerted on.
 *
 * Memory stays flat with the estate: subscriptions are given out a thousand at a time, as their automations
 * arrive, and each subscription's automations are let go once asked for.
 */
export class GraphEstateReader implements Estate {
  source = 'Resource Graph';
  /** The automations of the subscriptions given out and not yet asked for (none: an empty list). */
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
    let listed: Array<Subscription & { error?: string }>;
    try {
      listed = await this.listSubscriptions(scope);
    } catch (error) {
      if (scope || !hasGraphDetail(error, 'TooManySubscriptionsUnderScope')) {
        // Resource Graph cannot be asked (throttled past retries, refused, down): Resource Manager, as before.
        this.source = `Resource Manager (Resource Graph failed: ${failureText(describeFailure(error))})`;
        yield* this.arm.subscriptions(scope);
        return;
      }
      // More subscriptions under the tenant than one Resource Graph query may cover (18,000): the documented
      // way is batches of named subscriptions, and only Resource Manager lists their names.
      this.source = 'Resource Graph (subscriptions listed through Resource Manager: too many for one query)';
      listed = [];
      for await (const s of this.arm.subscriptions()) listed.push(s);
    }
    if (!scope && listed.length === 0) {
      // Resource Graph shows a subscription only to an identity that may read it: none is no answer.
      this.source = 'Resource Manager (Resource Graph returned no subscription)';
      yield* this.arm.subscriptions();
      return;
    }
    yield* this.withAutomations(listed);
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
    const id = subscriptionId.toLowerCase();
    const found = this.automationsBySubscription.get(id);
    if (!found) return this.arm.automations(subscriptionId);
    this.automationsBySubscription.delete(id);
    return found;
  }

  confirm(subscriptionId: string): Promise<Automation[] | { error: string; unreachable?: boolean }> {
    return this.arm.automations(subscriptionId);
  }

  /**
   * Gives out the subscriptions a block of 1,000 at a time, each once its block's automations are read (a
   * few blocks read ahead). When Resource Graph fails, the rest are read through Resource Manager.
   */
  private async *withAutomations(
    listed: ReadonlyArray<Subscription & { error?: string }>,
  ): AsyncGenerator<Subscription & { error?: string }> {
    const blocks: Array<Array<Subscription & { error?: string }>> = [];
    for (let i = 0; i < listed.length; i += SUBSCRIPTIONS_PER_QUERY)
      blocks.push(listed.slice(i, i + SUBSCRIPTIONS_PER_QUERY));
    const readable = (block: ReadonlyArray<Subscription & { error?: string }>) =>
      block.filter((s) => s.error === undefined && s.state !== 'Unreachable').map((s) => s.subscriptionId);
    let failed = false;
    const reads: Array<Promise<Map<string, Automation[]>>> = [];
    const readAhead = () => {
      const next = blocks[reads.length];
      if (next && !failed) reads.push(this.readAutomations(readable(next)));
    };
    for (let i = 0; i < this.concurrency; i++) readAhead();
    for (let i = 0; i < blocks.length; i++) {
      try {
        if (!failed && reads[i])
          for (const [id, list] of await reads[i]!) this.automationsBySubscription.set(id, list);
      } catch (error) {
        // The blocks still to come are read through Resource Manager (automations() falls back).
        failed = true;
        this.source = `Resource Graph, then Resource Manager (Resource Graph failed: ${failureText(describeFailure(error))})`;
      }
      readAhead();
      yield* blocks[i]!;
    }
    await Promise.allSettled(reads); // none left unobserved
  }

  private async listSubscriptions(scope?: readonly string[]): Promise<Subscription[]> {
    const listed: Subscription[] = [];
    await this.readAll(SUBSCRIPTIONS_QUERY, scope ? chunks(scope) : [[]], (row) =>
      listed.push({
        subscriptionId: String(row.subscriptionId ?? row.id.split('/').pop()).toLowerCase(),
        displayName: displayNameOf(row),
        state: String((row.properties as { state?: unknown } | undefined)?.state ?? 'Enabled'),
      }),
    );
    return listed;
  }

  /** The automations of up to 1,000 subscriptions (those without any: an empty list). */
  private async readAutomations(subscriptionIds: readonly string[]): Promise<Map<string, Automation[]>> {
    const bySubscription = new Map<string, Automation[]>(subscriptionIds.map((id) => [id, []]));
    if (subscriptionIds.length === 0) return bySubscription;
    await this.readAll(AUTOMATIONS_QUERY, [subscriptionIds], (row) =>
      bySubscription.get(String(row.subscriptionId ?? '').toLowerCase())?.push(
        toAutomation({
          ...((row.properties ?? {}) as Parameters<typeof toAutomation>[0]),
          id: row.id,
          name: row.name,
          ...(typeof row.location === 'string' && row.location ? { location: row.location } : {}),
          ...(row.tags && typeof row.tags === 'object' ? { tags: row.tags as Record<string, string> } : {}),
        }),
      ),
    );
    return bySubscription;
  }

  /** Every page of a query over each chunk of subscriptions (`[]`: every one the identity may read). */
  private async readAll(
    query: string,
    subscriptionChunks: ReadonlyArray<readonly string[]>,
    take: (row: GraphRecord) => void,
  ): Promise<void> {
    const limit = pLimit(this.concurrency);
    await Promise.all(
      subscriptionChunks.map((subscriptions) =>
        limit(async () => {
          let skipToken: string | undefined;
          do {
            const page = await this.graph.page(query, subscriptions, skipToken ? { skipToken } : {});
            for (const row of page.records) take(row);
            skipToken = page.skipToken;
          } while (skipToken);
        }),
      ),
    );
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
