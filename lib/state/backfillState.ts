import type { TableClient } from '@azure/data-tables';
import { isRestError } from '@azure/core-rest-pipeline';
import { ensureTable, getEntityOrUndefined } from '../azure/clients';
import { subscriptionKey } from './heartbeat';

export const BACKFILL_TABLE = 'DefenderExportBackfill';

/** One backfill: what it reads, and when it started (its batches are archived under that day's first hour). */
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
    const e = await getEntityOrUndefined<{ run: string }>(this.table, key, RUN);
    return e && (JSON.parse(e.run) as BackfillRun);
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
      queryOptions: { filter: `PartitionKey eq '${key}' and RowKey ge 'unit-' and RowKey lt 'unit.'` },
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
    for (const id of subscriptionIds) {
      const subscriptionId = id.toLowerCase();
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
      found.push({
        subscriptionId: e.subscriptionId,
        requestedAt: e.requestedAt,
        reason: e.reason,
        ...(e.etag ? { etag: e.etag } : {}),
      });
    }
    return found.sort((a, b) => a.requestedAt.localeCompare(b.requestedAt));
  }

  /**
   * Done with a request. Only the version that was read is removed: one asked again meanwhile (the reconciler
   * runs on its own timer) stays for the next run. Returns whether it was removed.
   */
  async settleRequest(request: BackfillRequest): Promise<boolean> {
    try {
      await this.table.deleteEntity(REQUESTS, subscriptionKey(request.subscriptionId), {
        ...(request.etag ? { etag: request.etag } : {}),
      });
      return true;
    } catch (error) {
      if (isRestError(error) && error.statusCode === 404) return true;
      if (isRestError(error) && error.statusCode === 412) return false;
      throw error;
    }
  }

  /**
   * The backfill after deployment: the run it started (its key, so a later change of scope does not start
   * it again from the top) and, once it has, when it finished.
   */
  async initial(): Promise<{ key?: string; finishedAt?: string } | undefined> {
    const e = await getEntityOrUndefined<{ key?: string; finishedAt?: string }>(this.table, INITIAL, INITIAL);
    return e && { ...(e.key ? { key: e.key } : {}), ...(e.finishedAt ? { finishedAt: e.finishedAt } : {}) };
  }

  async saveInitial(initial: { key: string; finishedAt?: string }): Promise<void> {
    await this.table.upsertEntity({ partitionKey: INITIAL, rowKey: INITIAL, ...initial }, 'Replace');
  }

  /** The subscriptions a run reads, kept with it so it resumes over the same ones (1,000 ids a row). */
  async saveSubscriptions(key: string, subscriptions: readonly string[]): Promise<void> {
    for (let i = 0; i * IDS_PER_ROW < subscriptions.length; i++) {
      await this.table.upsertEntity(
        {
          partitionKey: key,
          rowKey: `subscriptions-${String(i).padStart(5, '0')}`,
          ids: subscriptions.slice(i * IDS_PER_ROW, (i + 1) * IDS_PER_ROW).join(','),
        },
        'Replace',
      );
    }
  }

  async subscriptions(key: string): Promise<string[]> {
    const ids: string[] = [];
    for await (const e of this.table.listEntities<{ ids: string }>({
      queryOptions: {
        filter: `PartitionKey eq '${key}' and RowKey ge 'subscriptions-' and RowKey lt 'subscriptions.'`,
      },
    })) {
      ids.push(...e.ids.split(',').filter(Boolean));
    }
    return ids;
  }

  /** Forgets a finished run's positions, so the same backfill asked again starts from the beginning. */
  async clearPositions(key: string): Promise<void> {
    for (const unit of (await this.positions(key)).keys()) {
      try {
        await this.table.deleteEntity(key, unitRowKey(unit));
      } catch (error) {
        // Gone already is what was wanted; anything else would leave a `done` unit to be skipped.
        if (!(isRestError(error) && error.statusCode === 404)) throw error;
      }
    }
  }
}

/** A subscription to backfill at the next backfill timer run, and why. */
export interface BackfillRequest {
  subscriptionId: string;
  requestedAt: string;
  reason: string;
  /** The row's version when read: settling it removes only that version. */
  etag?: string;
}

const REQUESTS = 'requests';
const INITIAL = 'initial';
/** 1,000 subscription ids (37 characters each) stay well inside a table property's 64 KiB. */
const IDS_PER_ROW = 1000;

/** Unit names are ours (`Recommendation-0`); row keys may not hold / \ # ?. */
const unitRowKey = (unit: string) => `unit-${unit.replace(/[^\w-]/g, '_')}`;
