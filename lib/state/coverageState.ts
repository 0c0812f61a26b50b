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
    const limit = pLimit(4);
    const batches: TransactionAction[][] = [];
    for (let i = 0; i < actions.length; i += 100) batches.push(actions.slice(i, i + 100));
    await Promise.all(batches.map((batch) => limit(() => this.current.submitTransaction(batch))));
  }

  /** The pipeline's last judged health (lib/health/pipelineCheck.ts), kept beside the subscriptions. */
  async loadPipeline(): Promise<PipelineRecord | undefined> {
    try {
      const e = await this.current.getEntity<{ status: string; since: string; lastAlertAt?: string }>(
        PIPELINE,
        PIPELINE,
      );
      return {
        status: e.status as PipelineRecord['status'],
        since: e.since,
        ...(e.lastAlertAt ? { lastAlertAt: e.lastAlertAt } : {}),
      };
    } catch (error) {
      if (isRestError(error) && error.statusCode === 404) return undefined;
      throw error;
    }
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
