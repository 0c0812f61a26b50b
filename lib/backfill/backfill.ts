import { isRestError } from '@azure/core-rest-pipeline';
import { createHash } from 'node:crypto';
import pLimit from 'p-limit';
import { addLedger, emptyLedger, type Ledger } from '../ledger';
import { processBatch, type PipelineDependencies } from '../pipeline';
import type { BackfillRun, BackfillStateStore, UnitPosition } from '../state/backfillState';
import { toExportEvent, type BackfillDataType, type GraphRecord } from './mapping';

export type { GraphPage, GraphSource };
import type { GraphPage, GraphSource } from '../azure/resourceGraph';
import { graphQuery } from './queries';

/** Resource Graph answers for at most this many subscriptions per request. */
export const SUBSCRIPTIONS_PER_QUERY = 1000;

export interface BackfillDependencies {
  graph: GraphSource;
  /** The pipeline the Event Hub functions use; its heartbeat is left out (see runBackfill). */
  pipeline: PipelineDependencies;
  state: BackfillStateStore;
  clock: () => Date;
  /** Units (a data type over up to 1,000 subscriptions) read at once. */
  concurrency: number;
}

export interface BackfillOptions {
  dataTypes: readonly BackfillDataType[];
  subscriptions: readonly string[];
  /** Alerts generated since then only. */
  since?: Date;
  /** Count what there is, send nothing, keep nothing. */
  dryRun: boolean;
  /** Stop starting pages after this time (epoch ms): the timer's budget; the next run resumes. */
  deadline?: number;
  /** Told after every page: events handed to the pipeline so far, and in all when known. */
  onProgress?: (done: number, total: number | undefined) => void;
}

export interface BackfillReport {
  run: { key: string; startedAt: string; snapshotAt: string; resumed: boolean; finished: boolean };
  /** Resources per data type: read (or, with dryRun, found). */
  resources: Partial<Record<BackfillDataType, number>>;
  pages: number;
  ledger: Ledger;
}

/** The batches' source: it names the archive blobs (`backfill-p<unit>-<first>-<last>`). */
export const BACKFILL_BATCH_SOURCE = 'backfill';

interface Unit {
  name: string;
  dataType: BackfillDataType;
  subscriptions: readonly string[];
}

/** The subscriptions, lower-cased, once each, in order: what the run key and the units are made of. */
const subscriptionsOf = (options: Pick<BackfillOptions, 'subscriptions'>) =>
  [...new Set(options.subscriptions.map((s) => s.toLowerCase()))].sort();

function units(options: BackfillOptions): Unit[] {
  const sorted = subscriptionsOf(options);
  const chunks: string[][] = [];
  for (let i = 0; i < sorted.length; i += SUBSCRIPTIONS_PER_QUERY)
    chunks.push(sorted.slice(i, i + SUBSCRIPTIONS_PER_QUERY));
  return [...new Set(options.dataTypes)].flatMap((dataType) =>
    chunks.map((subscriptions, i) => ({ name: `${dataType}-${i}`, dataType, subscriptions })),
  );
}

/**
 * The batch's partition, which names its archive blob: the run, the unit, and a digest of the page, so a page
 * sent again (after a crash, or by a second backfill that day) names the same blob, and a page whose content
 * changed meanwhile names a new one rather than being taken for written.
 */
function pageLabel(key: string, unit: string, records: readonly GraphRecord[]): string {
  const digest = createHash('sha256').update(JSON.stringify(records)).digest('hex').slice(0, 12);
  return `${key.slice(0, 8)}-${unit}-${digest}`;
}

/**
 * The event for a row; a row the mapping refuses goes as Resource Graph gave it, so the pipeline classifies
 * it, and delivers or dead-letters it with the reason: it is accounted for, and the run goes on.
 */
function exportEvent(dataType: BackfillDataType, record: GraphRecord): unknown {
  try {
    return toExportEvent(dataType, record);
  } catch {
    return record;
  }
}

/** The run's identity: the same data types, subscriptions and `since` are the same backfill. */
export function runKey(options: Pick<BackfillOptions, 'dataTypes' | 'subscriptions' | 'since'>): string {
  const parameters = JSON.stringify({
    dataTypes: [...new Set(options.dataTypes)].sort(),
    subscriptions: subscriptionsOf(options),
    since: options.since?.toISOString() ?? null,
  });
  return createHash('sha256').update(parameters).digest('hex').slice(0, 32);
}

/**
 * The moment a backfill stands for: the start of its UTC day. Every event of the run is "enqueued" then, so
 * its EventKey (a digest of that time, the event and its place) is the same for a second backfill of an
 * unchanged item that day, and its archive blob has the same name: written once. A later day's backfill is a
 * new snapshot, as next week's export snapshot is.
 */
export function snapshotTime(startedAt: Date): string {
  const day = new Date(startedAt);
  day.setUTCHours(0, 0, 0, 0);
  return day.toISOString();
}

/**
 * Reads the current state of each data type from Resource Graph, page by page, and sends every resource
 * through the pipeline as the event continuous export would have sent (lib/backfill/mapping.ts): the same
 * per-event step, routing, fitting, outboxes, parking and ledger. After each page its position is kept, so
 * a crash or a deadline resumes where it stopped, and a page sent twice writes nothing twice to the archive.
 * Backfilled events are no proof that an export works: they never count as a subscription's heartbeat.
 */
export async function runBackfill(
  deps: BackfillDependencies,
  options: BackfillOptions,
): Promise<BackfillReport> {
  const now = deps.clock();
  const key = runKey(options);
  const all = units(options);
  const resources: BackfillReport['resources'] = {};
  const limit = pLimit(deps.concurrency);

  if (options.dryRun) {
    await Promise.all(
      all.map((unit) =>
        limit(async () => {
          const page = await deps.graph.page(graphQuery(unit.dataType, options.since), unit.subscriptions, {
            top: 1,
          });
          resources[unit.dataType] = (resources[unit.dataType] ?? 0) + page.totalRecords;
        }),
      ),
    );
    return {
      run: {
        key,
        startedAt: now.toISOString(),
        snapshotAt: snapshotTime(now),
        resumed: false,
        finished: true,
      },
      resources,
      pages: all.length,
      ledger: emptyLedger(),
    };
  }

  await deps.state.ensure();
  const previous = await deps.state.loadRun(key);
  const resumed = previous !== undefined && previous.finishedAt === undefined;
  if (previous && !resumed) await deps.state.clearPositions(key);
  const run: BackfillRun = resumed
    ? previous
    : {
        key,
        startedAt: now.toISOString(),
        dataTypes: [...options.dataTypes],
        subscriptions: options.subscriptions.length,
        ...(options.since ? { since: options.since.toISOString() } : {}),
      };
  if (!resumed) {
    await deps.state.saveSubscriptions(key, subscriptionsOf(options));
    await deps.state.saveRun(run);
  }
  const snapshotAt = snapshotTime(new Date(run.startedAt));
  const positions = resumed ? await deps.state.positions(key) : new Map<string, UnitPosition>();
  const pipeline: PipelineDependencies = { ...deps.pipeline, heartbeat: undefined };

  let ledger = emptyLedger();
  let pages = 0;
  let done = [...positions.values()].reduce((n, p) => n + p.offset, 0);
  let stoppedEarly = false;
  const totals = new Map<string, number>();
  const total = () =>
    totals.size === all.length ? [...totals.values()].reduce((a, b) => a + b, 0) : undefined;

  // The first failure stops every unit before its next page (the queued ones too), and is thrown once all
  // have stopped: nothing is still sending when the caller hears of it.
  let failure: { error: unknown } | undefined;
  await Promise.allSettled(
    all.map((unit) =>
      limit(async () => {
        let position = positions.get(unit.name) ?? { unit: unit.name, offset: 0, done: false };
        const query = graphQuery(unit.dataType, options.since);
        let restarted = false;
        while (!position.done && !failure) {
          if (options.deadline !== undefined && deps.clock().getTime() >= options.deadline) {
            stoppedEarly = true;
            return;
          }
          let page: GraphPage;
          try {
            page = await deps.graph.page(
              query,
              unit.subscriptions,
              position.skipToken ? { skipToken: position.skipToken } : {},
            );
          } catch (error) {
            // A token from before a crash may have expired: the unit starts again, once, and what it sends
            // again has the same names and keys (see snapshotTime and pageLabel).
            const refused = position.skipToken && isRestError(error) && error.statusCode === 400;
            if (!refused || restarted) throw error;
            restarted = true;
            done -= position.offset;
            position = { unit: unit.name, offset: 0, done: false };
            continue;
          }
          totals.set(unit.name, page.totalRecords);
          const batch = {
            source: BACKFILL_BATCH_SOURCE,
            partitionId: pageLabel(key, unit.name, page.records),
            deadLetterFaults: true,
            messages: page.records.map((record, i) => ({
              body: exportEvent(unit.dataType, record),
              sequenceNumber: position.offset + i,
              enqueuedTimeUtc: snapshotAt,
              offset: String(position.offset + i),
            })),
          };
          if (batch.messages.length > 0) {
            const result = await processBatch(batch, pipeline);
            ledger = addLedger(ledger, result); // after the await: units run side by side
          }
          resources[unit.dataType] = (resources[unit.dataType] ?? 0) + page.records.length;
          pages++;
          done += page.records.length;
          position = {
            unit: unit.name,
            offset: position.offset + page.records.length,
            ...(page.skipToken ? { skipToken: page.skipToken } : {}),
            done: !page.skipToken,
          };
          await deps.state.savePosition(key, position);
          options.onProgress?.(done, total());
        }
      }).catch((error: unknown) => {
        failure ??= { error };
        throw error;
      }),
    ),
  );
  if (failure) throw failure.error;

  const finished = !stoppedEarly;
  if (finished) await deps.state.saveRun({ ...run, finishedAt: deps.clock().toISOString() });
  return { run: { key, startedAt: run.startedAt, snapshotAt, resumed, finished }, resources, pages, ledger };
}
