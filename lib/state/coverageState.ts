import type { TableClient, TransactionAction } from '@azure/data-tables';
import { ensureTable, getEntityOrUndefined } from '../azure/clients';
import { intern } from '../coverage/intern';
import type { CoverageRecord, HistoryEntry } from '../coverage/transitions';
import type { PipelineRecord } from '../health/pipelineCheck';
import { subscriptionKey } from './heartbeat';

export const COVERAGE_TABLE = 'DefenderExportCoverage';
export const COVERAGE_HISTORY_TABLE = 'DefenderExportCoverageHistory';

const CURRENT = 'current';
/** The pipeline's own row: a partition of its own, so load() of the subscriptions never sees it. */
const PIPELINE = 'pipeline';
/** When the whole estate was last listed, and how (one row). */
const LISTING = 'listing';
/** Subscriptions listed as Disabled or Deleted: not judged, but known, so that a run between listings names them. */
const INACTIVE = 'inactive';
/** A table property holds at most 64 KiB; findings are short sentences, but never let them break a write. */
const MAX_FINDINGS_CHARS = 30_000;
/** Each findings list's text, made once: a transition writes the same list to the state and the history. */
const findingsTexts = new WeakMap<object, string>();
const findingsText = (findings: object) => {
  let text = findingsTexts.get(findings);
  if (text === undefined) {
    text = JSON.stringify(findings).slice(0, MAX_FINDINGS_CHARS);
    findingsTexts.set(findings, text);
  }
  return text;
};

interface CurrentEntity {
  partitionKey: string;
  rowKey: string;
  subscriptionId: string;
  displayName: string;
  status: string;
  since: string;
  lastAlertAt?: string;
  pendingAlert?: string;
  configuredSince?: string;
  confirmedAt?: string;
  findings: string;
  evaluatedAt: string;
}

/** The last listing of every subscription (lib/coverage/graphEstate.ts decides when the next is due). */
export interface ListingRecord {
  /** When the subscriptions were last listed in full (ISO 8601). */
  listedAt: string;
  /** Listed through Resource Manager because Resource Graph refused a tenant-wide query (over 18,000). */
  overLimit: boolean;
  /** How many subscriptions that listing found. */
  count: number;
}

/** A subscription in a Disabled or Deleted state, as last seen. */
export interface InactiveRecord {
  subscriptionId: string;
  displayName: string;
  state: string;
}

/** Coverage state in Table storage: the current status per subscription, and every transition. */
export class CoverageStateStore {
  constructor(
    readonly current: TableClient,
    readonly history: TableClient,
  ) {}

  async ensure(): Promise<void> {
    await Promise.all([ensureTable(this.current), ensureTable(this.history)]);
  }

  /** The records the last load() read: a run loads them once, and its reader asks which it knows. */
  private lastLoaded?: Map<string, CoverageRecord>;

  /** The subscriptions judged before, as this run loaded them (loaded now if it has not). */
  async known(): Promise<Iterable<CoverageRecord>> {
    return (this.lastLoaded ?? (await this.load())).values();
  }

  async load(): Promise<Map<string, CoverageRecord>> {
    const records = new Map<string, CoverageRecord>();
    this.lastLoaded = records;
    // Most subscriptions share their findings' text (and times, and status): one parsed copy of each.
    const parsed = new Map<string, CoverageRecord['findings']>();
    const findingsOf = (text: string) => {
      let findings = parsed.get(text);
      if (!findings) {
        try {
          findings = JSON.parse(text) as CoverageRecord['findings'];
        } catch {
          findings = []; // truncated beyond repair: the next run writes it afresh
        }
        parsed.set(text, findings);
      }
      return findings;
    };
    // The partition key is a constant of ours: nothing from an event or ARM becomes part of this query.
    for await (const e of this.current.listEntities<CurrentEntity>({
      queryOptions: { filter: `PartitionKey eq '${CURRENT}'` },
    })) {
      records.set(e.subscriptionId, {
        subscriptionId: e.subscriptionId,
        displayName: e.displayName,
        status: intern(e.status) as CoverageRecord['status'],
        since: intern(e.since),
        findings: findingsOf(e.findings),
        evaluatedAt: intern(e.evaluatedAt),
        ...(e.lastAlertAt ? { lastAlertAt: intern(e.lastAlertAt) } : {}),
        ...(e.pendingAlert ? { pendingAlert: e.pendingAlert as CoverageRecord['pendingAlert'] } : {}),
        ...(e.configuredSince ? { configuredSince: intern(e.configuredSince) } : {}),
        ...(e.confirmedAt ? { confirmedAt: intern(e.confirmedAt) } : {}),
      });
    }
    return records;
  }

  /**
   * Upserts the records in transactions of 100 (one partition), a few at a time, and removes subscriptions
   * no longer judged. Callers pass only what changed: a steady estate writes next to nothing.
   */
  async save(records: readonly CoverageRecord[], gone: readonly string[]): Promise<void> {
    const upsert = (r: CoverageRecord): TransactionAction => [
      'upsert',
      {
        partitionKey: CURRENT,
        rowKey: subscriptionKey(r.subscriptionId),
        subscriptionId: r.subscriptionId,
        displayName: r.displayName,
        status: r.status,
        since: r.since,
        lastAlertAt: r.lastAlertAt ?? '',
        pendingAlert: r.pendingAlert ?? '',
        configuredSince: r.configuredSince ?? '',
        confirmedAt: r.confirmedAt ?? '',
        findings: findingsText(r.findings),
        evaluatedAt: r.evaluatedAt,
      },
      'Replace',
    ];
    await this.submit(records.length + gone.length, (i) =>
      i < records.length
        ? upsert(records[i]!)
        : ['delete', { partitionKey: CURRENT, rowKey: subscriptionKey(gone[i - records.length]!) }],
    );
  }

  /**
   * Actions on one partition each, in transactions of 100 (Table storage's most), 4 at a time, each
   * transaction's actions made as it is sent (a first run writes 100,000 records).
   */
  private async submit(count: number, action: (i: number) => TransactionAction): Promise<void> {
    const batches = Math.ceil(count / 100);
    await inWorkers(batches, 4, async (b) => {
      const batch: TransactionAction[] = [];
      for (let i = b * 100; i < Math.min(count, (b + 1) * 100); i++) batch.push(action(i));
      await this.current.submitTransaction(batch);
    });
  }

  /** The last listing of the estate, if one was recorded. */
  async loadListing(): Promise<ListingRecord | undefined> {
    const e = await getEntityOrUndefined<{ listedAt: string; overLimit: boolean; count: number }>(
      this.current,
      LISTING,
      LISTING,
    );
    return e && { listedAt: e.listedAt, overLimit: e.overLimit === true, count: Number(e.count) || 0 };
  }

  async saveListing(record: ListingRecord): Promise<void> {
    await this.current.upsertEntity({ partitionKey: LISTING, rowKey: LISTING, ...record }, 'Replace');
  }

  /** The inactive subscriptions the last loadInactive() read (read now if it has not). */
  private lastInactive?: InactiveRecord[];

  async inactive(): Promise<InactiveRecord[]> {
    return this.lastInactive ?? (await this.loadInactive());
  }

  /** The subscriptions last seen Disabled or Deleted. */
  async loadInactive(): Promise<InactiveRecord[]> {
    const found: InactiveRecord[] = [];
    this.lastInactive = found;
    for await (const e of this.current.listEntities<InactiveRecord>({
      queryOptions: { filter: `PartitionKey eq '${INACTIVE}'` },
    }))
      found.push({ subscriptionId: e.subscriptionId, displayName: e.displayName, state: e.state });
    return found;
  }

  /** Makes the stored inactive subscriptions `now` (writing only the difference from `before`). */
  async saveInactive(before: readonly InactiveRecord[], now: readonly InactiveRecord[]): Promise<void> {
    const was = new Map(before.map((r) => [r.subscriptionId, r]));
    const is = new Set(now.map((r) => r.subscriptionId));
    const actions: TransactionAction[] = [
      ...now
        .filter((r) => {
          const old = was.get(r.subscriptionId);
          return !old || old.state !== r.state || old.displayName !== r.displayName;
        })
        .map((r): TransactionAction => [
          'upsert',
          { partitionKey: INACTIVE, rowKey: subscriptionKey(r.subscriptionId), ...r },
          'Replace',
        ]),
      ...before
        .filter((r) => !is.has(r.subscriptionId))
        .map((r): TransactionAction => [
          'delete',
          { partitionKey: INACTIVE, rowKey: subscriptionKey(r.subscriptionId) },
        ]),
    ];
    await this.submit(actions.length, (i) => actions[i]!);
  }

  /** The pipeline's last judged health (lib/health/pipelineCheck.ts), kept beside the subscriptions. */
  async loadPipeline(): Promise<PipelineRecord | undefined> {
    const e = await getEntityOrUndefined<{ status: string; since: string; lastAlertAt?: string }>(
      this.current,
      PIPELINE,
      PIPELINE,
    );
    return (
      e && {
        status: e.status as PipelineRecord['status'],
        since: e.since,
        ...(e.lastAlertAt ? { lastAlertAt: e.lastAlertAt } : {}),
      }
    );
  }

  async savePipeline(record: PipelineRecord): Promise<void> {
    await this.current.upsertEntity(
      { partitionKey: PIPELINE, rowKey: PIPELINE, ...record, lastAlertAt: record.lastAlertAt ?? '' },
      'Replace',
    );
  }

  /**
   * One row per transition, newest first within a subscription (inverted time in the row key). Each
   * subscription is its own partition, so rows go one by one, a bounded number at a time.
   */
  async append(entries: readonly HistoryEntry[]): Promise<void> {
    await inWorkers(entries.length, 32, async (i) => {
      const e = entries[i]!;
      await this.history.createEntity({
        partitionKey: subscriptionKey(e.subscriptionId),
        rowKey: String(8_640_000_000_000_000 - Date.parse(e.at)).padStart(16, '0') + `-${e.to}`,
        subscriptionId: e.subscriptionId,
        from: e.from,
        to: e.to,
        at: e.at,
        findings: findingsText(e.findings),
      });
    });
  }
}

/**
 * `task(0)` … `task(count - 1)`, `workers` at a time, each worker taking the next index when it is done: a
 * first run's 100,000 writes are never 100,000 queued promises at once (as `p-limit` would hold them).
 */
async function inWorkers(count: number, workers: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const work = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(workers, count) }, work));
}
