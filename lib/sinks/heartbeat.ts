import type { TableClient } from '@azure/data-tables';
import { createHash } from 'node:crypto';
import type { DataType } from '../records/row';

export const HEARTBEAT_TABLE = 'DefenderExportHeartbeat';

export interface Sighting {
  subscriptionId: string;
  dataType: DataType;
  snapshot: boolean;
  lastSeen: Date;
}

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

/** Last time data was seen per subscription, data type and snapshot/streaming: what coverage calls silence. */
export class HeartbeatStore {
  constructor(readonly table: TableClient) {}

  /** One upsert per distinct key; returns how many failed (a heartbeat is never worth losing events over). */
  async record(sightings: readonly Sighting[]): Promise<number> {
    const latest = new Map<string, Sighting>();
    for (const s of sightings) {
      const key = `${s.subscriptionId}\n${heartbeatRowKey(s.dataType, s.snapshot)}`;
      const known = latest.get(key);
      if (!known || known.lastSeen < s.lastSeen) latest.set(key, s);
    }
    const results = await Promise.allSettled(
      [...latest.values()].map((s) =>
        this.table.upsertEntity(
          {
            partitionKey: subscriptionKey(s.subscriptionId),
            rowKey: heartbeatRowKey(s.dataType, s.snapshot),
            subscriptionId: s.subscriptionId,
            dataType: s.dataType,
            snapshot: s.snapshot,
            lastSeen: s.lastSeen,
          },
          'Merge',
        ),
      ),
    );
    return results.filter((r) => r.status === 'rejected').length;
  }
}
