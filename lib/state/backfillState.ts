import type { TableClient } from '@azure/data-tables';
import { isRestError } from '@azure/core-rest-pipeline';
import { ensureTable } from '../azure/clients';
import { subscriptionKey } from './heartbeat';

export const BACKFILL_TABLE = 'DefenderExportBackfill';

/** One backfill: what it reads, and when it started (its batches are archived under that hour). */
export interface BackfillRun {
  /** A digest of the parameters: the same backfill asked again resumes this run until it has finished. */
  key: string;
  startedAt: string;
  finishedAt?: string;
  dataTypes: string[];
  subscriptions: number;
  since?: string;
}

/** How far one unit (a data type over one chunk of subscriptions) has come. */
export interface UnitPosition {
  unit: string;
  /** Resources handed to the pipeline so far: the next page's first sequence number. */
  offset: number;
  /** Resource Graph's token for the next page; none before the first page. */
  skipToken?: string;
  done: boolean;
}

const RUN = 'run';

/**
 * Where a backfill keeps its place, so a crash or a time limit loses nothing: one partition per run key, the
 * run itself and one row per unit, each written after its page was delivered.
 */
export class BackfillStateStore {
  constructor(readonly table: TableClient) {}

  ensure(): Promise<void> {
    return ensureTable(this.table);
  }

  async loadRun(key: string): Promise<BackfillRun | undefined> {
    try {
      const e = await this.table.getEntity<{ run: string }>(key, RUN);
      return JSON.parse(e.run) as BackfillRun;
    } catch (error) {
      if (isRestError(error) && error.statusCode === 404) return undefined;
      throw error;
    }
  }

  async saveRun(run: BackfillRun): Promise<void> {
    await this.table.upsertEntity(
      { partitionKey: run.key, rowKey: RUN, run: JSON.stringify(run) },
      'Replace',
    );
  }

  async positions(key: string): Promise<Map<string, UnitPosition>> {
    const found = new Map<string, UnitPosition>();
    // The key is a hex digest of ours: nothing from a user becomes part of this filter.
    for await (const e of this.table.listEntities<{ position: string }>({
      queryOptions: { filter: `PartitionKey eq '${key}' and RowKey ne '${RUN}'` },
    })) {
      const position = JSON.parse(e.position) as UnitPosition;
      found.set(position.unit, position);
    }
    return found;
  }

  async savePosition(key: string, position: UnitPosition): Promise<void> {
    await this.table.upsertEntity(
      { partitionKey: key, rowKey: unitRowKey(position.unit), position: JSON.stringify(position) },
      'Replace',
    );
  }

  /** Asks for a backfill of these subscriptions (the reconciler, when their coverage gap closed). */
  async request(subscriptionIds: readonly string[], reason: string, at: Date): Promise<void> {
    for (const subscriptionId of subscriptionIds) {
      await this.table.upsertEntity(
        {
          partitionKey: REQUESTS,
          rowKey: subscriptionKey(subscriptionId),
          subscriptionId,
          reason,
          requestedAt: at.toISOString(),
        },
        'Replace',
      );
    }
  }

  /** The subscriptions waiting for a backfill, oldest request first. */
  async requests(): Promise<BackfillRequest[]> {
    const found: BackfillRequest[] = [];
    for await (const e of this.table.listEntities<BackfillRequest>({
      queryOptions: { filter: `PartitionKey eq '${REQUESTS}'` },
    })) {
      found.push({ subscriptionId: e.subscriptionId, requestedAt: e.requestedAt, reason: e.reason });
    }
    return found.sort((a, b) => a.requestedAt.localeCompare(b.requestedAt));
  }

  /** Done with a request, unless it was asked again meanwhile (then it waits for the next run). */
  async settleRequest(request: BackfillRequest): Promise<void> {
    const current = (await this.requests()).find((r) => r.subscriptionId === request.subscriptionId);
    if (current && current.requestedAt !== request.requestedAt) return;
    await this.table.deleteEntity(REQUESTS, subscriptionKey(request.subscriptionId)).catch(() => undefined);
  }

  /** When the backfill after deployment finished, if it has. */
  async initialFinishedAt(): Promise<string | undefined> {
    try {
      return (await this.table.getEntity<{ finishedAt: string }>(INITIAL, INITIAL)).finishedAt;
    } catch (error) {
      if (isRestError(error) && error.statusCode === 404) return undefined;
      throw error;
    }
  }

  async markInitialFinished(at: Date): Promise<void> {
    await this.table.upsertEntity(
      { partitionKey: INITIAL, rowKey: INITIAL, finishedAt: at.toISOString() },
      'Replace',
    );
  }

  /** Forgets a finished run's positions, so the same backfill asked again starts from the beginning. */
  async clearPositions(key: string): Promise<void> {
    for (const unit of (await this.positions(key)).keys())
      await this.table.deleteEntity(key, unitRowKey(unit)).catch(() => undefined);
  }
}

/** A subscription to backfill at the next backfill timer run, and why. */
export interface BackfillRequest {
  subscriptionId: string;
  requestedAt: string;
  reason: string;
}

const REQUESTS = 'requests';
const INITIAL = 'initial';

/** Unit names are ours (`Recommendation-0`); row keys may not hold / \ # ?. */
const unitRowKey = (unit: string) => `unit-${unit.replace(/[^\w-]/g, '_')}`;
