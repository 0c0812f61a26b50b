import type { SecurityCenter } from '@azure/arm-security';
import {
  hasGraphDetail,
  TOO_MANY_SUBSCRIPTIONS,
  type GraphRecord,
  type GraphSource,
} from '../azure/resourceGraph';
import { describeFailure, failureText } from '../sinks/deliveryFailure';
import type { InactiveRecord, ListingRecord } from '../state/coverageState';
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

/**
 * Each named subscription's row with its automations, one row a subscription: a block of 1,000 is one request
 * (Resource Graph answers a `summarize` on its first page only, which one row a subscription always fits).
 */
const SUBSCRIPTIONS_WITH_AUTOMATIONS_QUERY = [
  'resourcecontainers',
  "| where type =~ 'microsoft.resources/subscriptions'",
  '| project id, name, subscriptionId, properties',
  '| join kind=leftouter (',
  '    resources',
  "    | where type =~ 'microsoft.security/automations'",
  "    | project subscriptionId, automation = pack('id', id, 'name', name, 'location', location, 'tags', tags, 'properties', properties)",
  '    | summarize automations = make_list(automation) by subscriptionId',
  '  ) on subscriptionId',
  '| project id, name, subscriptionId, properties, automations',
].join('\n');

/** What the reconciler reads the estate through: Resource Manager (EstateReader) or Resource Graph (below). */
export interface Estate {
  /** Where the estate was read: said in the report. */
  readonly source: string;
  /** The listing of every subscription this run made, for the state to keep (none: it read the known ones). */
  readonly listing?: ListingRecord;
  subscriptions(scope?: readonly string[]): AsyncGenerator<Subscription & { error?: string }>;
  automations(subscriptionId: string): Promise<Automation[] | { error: string; unreachable?: boolean }>;
  security(subscriptionId: string): SecurityCenter;
  /**
   * The automations again, through Resource Manager: for a subscription whose status changed, before an
   * alert is raised on what a lagging index said. Absent when the estate is read through Resource Manager.
   */
  confirm?(subscriptionId: string): Promise<Automation[] | { error: string; unreachable?: boolean }>;
}

/** What the reader knows from earlier runs (the coverage state), for the runs between two listings. */
export interface EstateMemory {
  /** The subscriptions judged before, and those last seen Disabled or Deleted. */
  known(): Promise<Array<Pick<Subscription, 'subscriptionId' | 'displayName'> & Partial<InactiveRecord>>>;
  lastListing(): Promise<ListingRecord | undefined>;
  clock(): Date;
  /** How long a listing through Resource Manager stands (COVERAGE_DISCOVERY_HOURS). */
  listEveryMs: number;
}

/** A subscription to ask Resource Graph about: from a listing (its fields stand) or known from before. */
type Candidate = Subscription & { error?: string; listed: boolean };

/** A subscription as Resource Graph answered for it. */
interface GraphSubscription {
  displayName: string;
  state: string;
  automations: Automation[];
}

/**
 * The estate through Azure Resource Graph, for any number of subscriptions:
 * - Up to 18,000 (what one tenant-wide query may cover) every run lists them from `resourcecontainers`.
 *   Over that, Resource Graph refuses a tenant-wide query, and only Resource Manager lists them, a page per
 *   call, one after the other (1,000 calls for 100,000): that listing is made once every
 *   COVERAGE_DISCOVERY_HOURS, and the runs between ask about the subscriptions known from the state, so a
 *   subscription created since waits for the next listing.
 * - Then one request per 1,000 subscriptions, named, answers each one's row and automations, a few at a time:
 *   about 100 requests for 100,000 subscriptions, where Resource Manager takes one per subscription.
 * A subscription Resource Graph does not return (not indexed yet, or gone) is read through Resource Manager,
 * as is the whole estate when Resource Graph cannot be asked. Resource Graph only shows what the identity may
 * read: a subscription whose automations it may not read looks like one without any, which is why a change
 * of status is confirmed through Resource Manager (`confirm`) before it is alerted on.
 *
 * Subscriptions are given out a thousand at a time, as their block is answered, and each subscription's
 * automations are let go once asked for.
 */
export class GraphEstateReader implements Estate {
  source = 'Resource Graph';
  listing?: ListingRecord;
  /** The automations of the subscriptions given out and not yet asked for (none: an empty list). */
  private readonly automationsBySubscription = new Map<string, Automation[]>();

  constructor(
    private readonly graph: GraphSource,
    private readonly arm: EstateReader,
    private readonly concurrency = 4,
    private readonly memory?: EstateMemory,
  ) {}

  security(subscriptionId: string): SecurityCenter {
    return this.arm.security(subscriptionId);
  }

  async *subscriptions(scope?: readonly string[]): AsyncGenerator<Subscription & { error?: string }> {
    this.automationsBySubscription.clear();
    this.source = 'Resource Graph';
    this.listing = undefined;
    if (scope) {
      // In scope but not in Resource Graph: Resource Manager says what it is (Unknown when it cannot be read).
      const named = [...new Set(scope.map((id) => id.toLowerCase()))];
      yield* this.judge(
        named.map((subscriptionId) => ({ subscriptionId, displayName: '', state: 'Enabled', listed: false })),
        true,
      );
      return;
    }
    const known = this.memory ? await this.memory.known() : undefined;
    const last = await this.memory?.lastListing();
    const now = this.memory?.clock() ?? new Date();
    if (this.memory && known?.length && last?.overLimit) {
      const due = Date.parse(last.listedAt) + this.memory.listEveryMs;
      if (now.getTime() < due) {
        this.source = `Resource Graph (the ${known.length} subscriptions known since Resource Manager listed them at ${last.listedAt}; the next listing is due at ${new Date(due).toISOString()})`;
        yield* this.judge(
          known.map((k) => ({
            subscriptionId: k.subscriptionId.toLowerCase(),
            displayName: k.displayName,
            state: k.state ?? 'Enabled',
            listed: false,
          })),
          false,
        );
        return;
      }
    }

    let listed: Array<Subscription & { error?: string }>;
    let overLimit = false;
    try {
      listed = await this.listSubscriptions();
    } catch (error) {
      if (!hasGraphDetail(error, TOO_MANY_SUBSCRIPTIONS)) {
        // Resource Graph cannot be asked (throttled past retries, refused, down): Resource Manager, as before.
        this.source = `Resource Manager (Resource Graph failed: ${failureText(describeFailure(error))})`;
        yield* this.arm.subscriptions();
        return;
      }
      // More subscriptions under the tenant than one Resource Graph query may cover (18,000): the documented
      // way is batches of named subscriptions, and only Resource Manager lists their names.
      this.source = 'Resource Graph (subscriptions listed through Resource Manager: too many for one query)';
      overLimit = true;
      listed = [];
      for await (const s of this.arm.subscriptions()) listed.push(s);
    }
    if (listed.length === 0) {
      // Resource Graph shows a subscription only to an identity that may read it: none is no answer.
      this.source = 'Resource Manager (Resource Graph returned no subscription)';
      yield* this.arm.subscriptions();
      return;
    }
    // Kept when the runs between listings need it, or to clear a tenant's time over the limit; a listing
    // Resource Manager broke off (the rest known, Unreachable) is not one: the next run lists again.
    const complete = !listed.some((s) => s.state === 'Unreachable');
    if (complete && (overLimit || last?.overLimit))
      this.listing = { listedAt: now.toISOString(), overLimit, count: listed.length };
    yield* this.judge(
      listed.map((s) => ({ ...s, listed: true })),
      false,
    );
    // Judged before but not listed now: not indexed (yet), or gone. Resource Manager tells which; one it
    // cannot read any more is gone, as it would be from Resource Manager's own list.
    const found = new Set(listed.map((s) => s.subscriptionId));
    const before = known?.map((k) => k.subscriptionId.toLowerCase()) ?? (await this.arm.knownSubscriptions());
    yield* this.throughResourceManager(
      before.filter((id) => !found.has(id)),
      false,
    );
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
   * Asks Resource Graph about the candidates a block of 1,000 at a time (a few blocks ahead) and gives each
   * out once its block is answered. A listed one Resource Graph did not answer for keeps its listing and
   * has its automations read through Resource Manager; a known one is looked up there at the end (gone when
   * Resource Manager cannot read it, unless `keepUnreadable`). When Resource Graph fails, the blocks still
   * to come go the same way.
   */
  private async *judge(
    candidates: readonly Candidate[],
    keepUnreadable: boolean,
  ): AsyncGenerator<Subscription & { error?: string }> {
    const blocks: Candidate[][] = [];
    for (let i = 0; i < candidates.length; i += SUBSCRIPTIONS_PER_QUERY)
      blocks.push(candidates.slice(i, i + SUBSCRIPTIONS_PER_QUERY));
    const askable = (block: readonly Candidate[]) =>
      block.filter((c) => c.error === undefined && c.state !== 'Unreachable').map((c) => c.subscriptionId);
    let failed = false;
    // Each block's answer is let go once given out (an answer holds 1,000 subscriptions' automations).
    const reads: Array<Promise<Map<string, GraphSubscription>> | undefined> = [];
    const readAhead = () => {
      const next = blocks[reads.length];
      if (!next || failed) return;
      const read = this.readBlock(askable(next));
      read.catch(() => undefined); // a read ahead of a failure is never awaited
      reads.push(read);
    };
    for (let i = 0; i < this.concurrency; i++) readAhead();
    const missing: string[] = [];
    for (let i = 0; i < blocks.length; i++) {
      let answered = new Map<string, GraphSubscription>();
      const read = reads[i];
      reads[i] = undefined;
      try {
        if (!failed && read) answered = await read;
      } catch (error) {
        failed = true;
        this.source = `Resource Graph, then Resource Manager (Resource Graph failed: ${failureText(describeFailure(error))})`;
      }
      readAhead();
      for (const { listed, ...candidate } of blocks[i]!) {
        const found = answered.get(candidate.subscriptionId);
        if (found) this.automationsBySubscription.set(candidate.subscriptionId, found.automations);
        if (listed) yield candidate;
        else if (found)
          yield {
            subscriptionId: candidate.subscriptionId,
            displayName: found.displayName,
            state: found.state,
          };
        else missing.push(candidate.subscriptionId);
      }
    }
    yield* this.throughResourceManager(missing, keepUnreadable);
  }

  /** Subscriptions Resource Graph did not answer for, as Resource Manager sees them; one it cannot read is gone, unless kept. */
  private async *throughResourceManager(
    ids: readonly string[],
    keepUnreadable: boolean,
  ): AsyncGenerator<Subscription & { error?: string }> {
    if (ids.length === 0) return;
    for await (const s of this.arm.subscriptions(ids))
      if (keepUnreadable || s.state !== 'Unreadable') yield s;
  }

  /** Every subscription the identity may read, from one tenant-wide query (refused over 18,000), every page. */
  private async listSubscriptions(): Promise<Subscription[]> {
    const listed: Subscription[] = [];
    let skipToken: string | undefined;
    do {
      const page = await this.graph.page(SUBSCRIPTIONS_QUERY, [], skipToken ? { skipToken } : {});
      if (page.truncated) throw new Error('Resource Graph cut its answer short (resultTruncated)');
      for (const row of page.records) listed.push(subscriptionOf(row));
      skipToken = page.skipToken;
    } while (skipToken);
    return listed;
  }

  /**
   * Up to 1,000 named subscriptions with their automations (none: an empty list); those not answered are
   * absent. A `summarize` is answered on its first page only, so a page that holds fewer rows than the block
   * (`resultTruncated`) is followed by a request for the subscriptions it did not answer for.
   */
  private async readBlock(subscriptionIds: readonly string[]): Promise<Map<string, GraphSubscription>> {
    const answered = new Map<string, GraphSubscription>();
    let asking = subscriptionIds;
    while (asking.length > 0) {
      const page = await this.graph.page(SUBSCRIPTIONS_WITH_AUTOMATIONS_QUERY, asking, {
        top: SUBSCRIPTIONS_PER_QUERY,
      });
      for (const row of page.records) {
        const { subscriptionId, displayName, state } = subscriptionOf(row);
        const rows = Array.isArray(row.automations) ? (row.automations as GraphRecord[]) : [];
        answered.set(subscriptionId, { displayName, state, automations: rows.map(automationOf) });
      }
      if (!page.truncated) break;
      const rest = asking.filter((id) => !answered.has(id));
      if (rest.length === asking.length) throw new Error('Resource Graph cut its answer short, and empty');
      asking = rest;
    }
    return answered;
  }
}

function subscriptionOf(row: GraphRecord): Subscription {
  return {
    subscriptionId: String(row.subscriptionId ?? row.id.split('/').pop()).toLowerCase(),
    displayName: displayNameOf(row),
    state: String((row.properties as { state?: unknown } | undefined)?.state ?? 'Enabled'),
  };
}

/** An automation as the joined query packs it: the columns id, name, location, tags and properties. */
function automationOf(row: GraphRecord): Automation {
  return toAutomation({
    ...((row.properties ?? {}) as Parameters<typeof toAutomation>[0]),
    id: row.id,
    name: row.name,
    ...(typeof row.location === 'string' && row.location ? { location: row.location } : {}),
    ...(row.tags && typeof row.tags === 'object' ? { tags: row.tags as Record<string, string> } : {}),
  });
}

/** A subscription row's display name: `properties.displayName` where the row has it, else its `name`. */
function displayNameOf(row: GraphRecord): string {
  const fromProperties = (row.properties as { displayName?: unknown } | undefined)?.displayName;
  return typeof fromProperties === 'string' ? fromProperties : String(row.name ?? '');
}
