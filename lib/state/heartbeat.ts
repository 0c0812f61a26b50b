import { isRestError } from '@azure/core-rest-pipeline';
import type { TableClient } from '@azure/data-tables';
import { createHash } from 'node:crypto';
import type { HeartbeatStore, LastSeen, Sighting } from '../ports';
import type { DataType } from '../records/row';

export const HEARTBEAT_TABLE = 'DefenderExportHeartbeat';

/**
 * Table keys may not hold / \ # ? or control characters, and the subscription id comes from an event:
 * a well-formed one is used as it is, anything else by its digest (the original is kept as a property).
 */
export function subscriptionKey(subscriptionId: string): string {
  return /^[0-9a-z-]{1,64}$/.test(subscriptionId)
    ? subscriptionId
    : `x-${createHash('sha256').update(subscriptionId).digest('hex').slice(0, 40)}`;
}

export function heartbeatRowKey(dataType: DataType, snapshot: boolean): string {
  return `${dataType}-${snapshot ? 'snapshot' : 'streaming'}`;
}

/**
 * Coverage measures silence in hours and days; a worker refreshes a key it has already written at most this
 * often, which turns one write per key per batch into one per key per interval.
 */
export const HEARTBEAT_REFRESH_MS = 5 * 60_000;

/** Last time data was seen per subscription, data type and snapshot/streaming: what coverage calls silence. */
export class TableHeartbeatStore implements HeartbeatStore {
  /** What this worker last wrote per key, so a busy key is not rewritten every batch. */
  private readonly written = new Map<string, number>();

  constructor(
    readonly table: TableClient,
    private readonly refreshMs = HEARTBEAT_REFRESH_MS,
  ) {}

  /**
   * At most one upsert per distinct key, and none when this worker wrote the key less than `refreshMs`
   * before this sighting. Returns how many failed: a heartbeat is never worth losing events over.
   */
  async record(sightings: readonly Sighting[]): Promise<number> {
    const latest = new Map<string, Sighting>();
    for (const s of sightings) {
      const key = `${s.subscriptionId}\n${heartbeatRowKey(s.dataType, s.snapshot)}`;
      const known = latest.get(key);
      if (!known || known.lastSeen < s.lastSeen) latest.set(key, s);
    }
    const due = [...latest].filter(
      ([key, s]) => s.lastSeen.getTime() - (this.written.get(key) ?? -Infinity) >= this.refreshMs,
    );
    const results = await Promise.allSettled(
      due.map(async ([key, s]) => {
        await this.table.upsertEntity(
          {
            partitionKey: subscriptionKey(s.subscriptionId),
            rowKey: heartbeatRowKey(s.dataType, s.snapshot),
            subscriptionId: s.subscriptionId,
            dataType: s.dataType,
            snapshot: s.snapshot,
            lastSeen: s.lastSeen,
          },
          'Merge',
        );
        this.written.set(key, s.lastSeen.getTime());
      }),
    );
    return results.filter((r) => r.status === 'rejected').length;
  }

  /** The latest sighting per subscription, streaming and snapshot apart: what coverage calls silence. */
  async lastSeenBySubscription(): Promise<Map<string, LastSeen>> {
    const latest = new Map<string, LastSeen>();
    for await (const entity of this.table.listEntities<{
      subscriptionId: string;
      snapshot: boolean;
      lastSeen: Date;
    }>()) {
      const kind = entity.snapshot ? 'snapshot' : 'streaming';
      const seen = latest.get(entity.subscriptionId) ?? {};
      if (!seen[kind] || seen[kind]! < entity.lastSeen) seen[kind] = entity.lastSeen;
      latest.set(entity.subscriptionId, seen);
    }
    return latest;
  }

  /** The latest sighting per data type over every subscription, streaming or snapshot: is data flowing at all. */
  async lastSeenByDataType(): Promise<Map<DataType, Date>> {
    const latest = new Map<DataType, Date>();
    try {
      for await (const entity of this.table.listEntities<{ dataType: DataType; lastSeen: Date }>({
        queryOptions: { select: ['dataType', 'lastSeen'] },
      })) {
        const known = latest.get(entity.dataType);
        if (!known || known < entity.lastSeen) latest.set(entity.dataType, entity.lastSeen);
      }
    } catch (error) {
      // No table yet: nothing has been seen.
      if (!(isRestError(error) && error.statusCode === 404)) throw error;
    }
    return latest;
  }
}
