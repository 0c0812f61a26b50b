import type { TableClient, TransactionAction } from '@azure/data-tables';
import pLimit from 'p-limit';
import { ensureTable } from '../azure/clients';
import { isRestError } from '@azure/core-rest-pipeline';
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
const findingsText = (findings: unknown) => JSON.stringify(findings).slice(0, MAX_FINDINGS_CHARS);

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
    // The partition key is a constant of ours: nothing from an event or ARM becomes part of this query.
    for await (const e of this.current.listEntities<CurrentEntity>({
      queryOptions: { filter: `PartitionKey eq '${CURRENT}'` },
    })) {
      let findings: CoverageRecord['findings'] = [];
      try {
        findings = JSON.parse(e.findings) as CoverageRecord['findings'];
      } catch {
        // truncated beyond repair: the next run writes it afresh
      }
      records.set(e.subscriptionId, {
        subscriptionId: e.subscriptionId,
        displayName: e.displayName,
        status: e.status as CoverageRecord['status'],
        since: e.since,
        findings,
        evaluatedAt: e.evaluatedAt,
        ...(e.lastAlertAt ? { lastAlertAt: e.lastAlertAt } : {}),
        ...(e.pendingAlert ? { pendingAlert: e.pendingAlert as CoverageRecord['pendingAlert'] } : {}),
        ...(e.configuredSince ? { configuredSince: e.configuredSince } : {}),
        ...(e.confirmedAt ? { confirmedAt: e.confirmedAt } : {}),
      });
    }
    return records;
  }

  /**
   * Upserts the records in transactions of 100 (one partition), a few at a time, and removes subscriptions
   * no longer judged. Callers pass only what changed: a steady estate writes next to nothing.
   */
  async save(records: readonly CoverageRecord[], gone: readonly string[]): Promise<void> {
    const actions: TransactionAction[] = [
      ...records.map((r): TransactionAction => [
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
      ]),
      ...gone.map((id): TransactionAction => [
        'delete',
        { partitionKey: CURRENT, rowKey: subscriptionKey(id) },
      ]),
    ];
    await this.submit(actions);
  }

  /** Actions on one partition each, in transactions of 100 (Table storage's most), a few at a time. */
  private async submit(actions: readonly TransactionAction[]): Promise<void> {
    const limit = pLimit(4);
    const batches: TransactionAction[][] = [];
    for (let i = 0; i < actions.length; i += 100) batches.push(actions.slice(i, i + 100));
    await Promise.all(batches.map((batch) => limit(() => this.current.submitTransaction(batch))));
  }

  private async getOptional<T extends object>(partitionKey: string, rowKey: string): Promise<T | undefined> {
    try {
      return await this.current.getEntity<T>(partitionKey, rowKey);
    } catch (error) {
      if (isRestError(error) && error.statusCode === 404) return undefined;
      throw error;
    }
  }

  /** The last listing of the estate, if one was recorded. */
  async loadListing(): Promise<ListingRecord | undefined> {
    const e = await this.getOptional<{ listedAt: string; overLimit: boolean; count: number }>(
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
    await this.submit([
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
    ]);
  }

  /** The pipeline's last judged health (lib/health/pipelineCheck.ts), kept beside the subscriptions. */
  async loadPipeline(): Promise<PipelineRecord | undefined> {
    const e = await this.getOptional<{ status: string; since: string; lastAlertAt?: string }>(
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
    const limit = pLimit(32);
    await Promise.all(
      entries.map((e) =>
        limit(() =>
          this.history.createEntity({
            partitionKey: subscriptionKey(e.subscriptionId),
            rowKey: String(8_640_000_000_000_000 - Date.parse(e.at)).padStart(16, '0') + `-${e.to}`,
            subscriptionId: e.subscriptionId,
            from: e.from,
            to: e.to,
            at: e.at,
            findings: findingsText(e.findings),
          }),
        ),
      ),
    );
  }
}
