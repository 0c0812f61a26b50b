import { Command } from 'commander';
import { billedSize, rawEventBytes } from '../lib/cost/billedSize';
import { ROW_COLUMNS, type LogsRow } from '../lib/records/row';
import { createRouter } from '../lib/routing/route';
import { DEFAULT_ROUTES, DEFAULT_STREAM } from '../lib/routing/rules';
import { archiveBlobName } from '../lib/sinks/archiveBlobName';
import { stepMessage } from '../lib/step';
import { workload } from '../dev/workload';

/**
 * What Log Analytics bills for our rows against the events they carry (lib/cost/billedSize.ts), per data
 * type, on the realistic workload (dev/workload.ts: 2 KB median, ~1% a tail of 40–300 KB) and on one of
 * events of 2 KB each. The events go through the pipeline's own step (decode, normalise, route, fit,
 * serialise: lib/step.ts) with the default routes and record limit; nothing is sent anywhere.
 * How the row contract was chosen from candidates measured this way: docs/cost.md.
 *
 * `node dist/bench/cost.js [--events 5000] [--seed 7] [--json]`
 */
const program = new Command()
  .name('cost')
  .option('--events <n>', 'events in each workload', '5000')
  .option('--seed <n>', 'workload seed', '7')
  .option('--json', 'print the results as one JSON object')
  .allowExcessArguments(false);

const ENQUEUED = '2026-11-24T10:00:00.000Z';
const RECORD_LIMIT = 32_768; // RECORD_SIZE_LIMIT_BYTES' default
const BATCH = 100; // messages per Event Hub batch, as the bench's replay uses

/** One event as delivered: the event, and the rows the step made of it. */
export interface Delivered {
  event: unknown;
  rows: LogsRow[];
}

/** Every event of `bodies` (one event per body) with its rows, through lib/step.ts as the pipeline runs it. */
export function deliver(bodies: readonly string[]): Delivered[] {
  const route = createRouter(DEFAULT_ROUTES, { stream: DEFAULT_STREAM, oversize: 'split' });
  const delivered: Delivered[] = [];
  bodies.forEach((body, i) => {
    const first = i - (i % BATCH);
    const batch = {
      source: 'defender-cloud',
      partitionId: '0',
      firstSequenceNumber: first,
      lastSequenceNumber: Math.min(first + BATCH, bodies.length) - 1,
      enqueuedTimeUtc: ENQUEUED,
    };
    for (const result of stepMessage(body, {
      route,
      recordLimit: RECORD_LIMIT,
      enqueuedTimeUtc: ENQUEUED,
      now: () => new Date(ENQUEUED),
      archiveBlob: (dataType) => archiveBlobName(dataType, batch),
    })) {
      if (result.kind !== 'routed' || !('rows' in result.fitted))
        throw new Error(`event ${i} was not delivered: ${JSON.stringify(result).slice(0, 300)}`);
      const rows = result.fitted.rows.map((row) => JSON.parse(row.toString('utf8')) as LogsRow);
      delivered.push({ event: JSON.parse(body), rows });
    }
  });
  return delivered;
}

export interface Figures {
  dataType: string;
  events: number;
  rows: number;
  rawBytes: number;
  billedBytes: number;
  meanRawBytes: number;
  meanBilledBytes: number;
  /** Billed over raw bytes of all these events, minus 1. */
  overhead: number;
  /** The median event's own overhead. */
  medianOverhead: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Figures per data type (by name) and for all events together (`all`). */
export function measure(delivered: readonly Delivered[]): Figures[] {
  const groups = new Map<string, Array<{ raw: number; billed: number; rows: number }>>();
  for (const d of delivered) {
    const billed = d.rows.reduce(
      (n, row) => n + billedSize(row as unknown as Record<string, unknown>, ROW_COLUMNS),
      0,
    );
    const one = { raw: rawEventBytes(d.event), billed, rows: d.rows.length };
    const dataType = d.rows[0]!.DataType;
    for (const key of [dataType, 'all']) {
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key)!.push(one);
    }
  }
  const names = [...groups.keys()].filter((k) => k !== 'all').sort();
  return [...names, 'all'].map((dataType) => {
    const events = groups.get(dataType)!;
    const rawBytes = events.reduce((n, e) => n + e.raw, 0);
    const billedBytes = events.reduce((n, e) => n + e.billed, 0);
    return {
      dataType,
      events: events.length,
      rows: events.reduce((n, e) => n + e.rows, 0),
      rawBytes,
      billedBytes,
      meanRawBytes: rawBytes / events.length,
      meanBilledBytes: billedBytes / events.length,
      overhead: billedBytes / rawBytes - 1,
      medianOverhead: median(events.map((e) => e.billed / e.raw - 1)),
    };
  });
}

const percent = (x: number) => `${(x * 100).toFixed(1)}%`;

export function table(figures: readonly Figures[]): string[] {
  const out = [
    `${'data type'.padEnd(22)} ${'events'.padStart(6)} ${'rows'.padStart(6)} ${'raw B/event'.padStart(11)} ${'billed B/event'.padStart(14)} ${'overhead'.padStart(8)} ${'median event'.padStart(12)}`,
  ];
  for (const f of figures)
    out.push(
      `${f.dataType.padEnd(22)} ${String(f.events).padStart(6)} ${String(f.rows).padStart(6)} ${f.meanRawBytes.toFixed(0).padStart(11)} ${f.meanBilledBytes.toFixed(0).padStart(14)} ${percent(f.overhead).padStart(8)} ${percent(f.medianOverhead).padStart(12)}`,
    );
  return out;
}

/** What `--json` prints. */
export interface CostBenchResult {
  events: number;
  seed: number;
  results: Array<{ workload: string; figures: Figures[] }>;
}

function main(): void {
  const options = program.parse(process.argv).opts<{ events: string; seed: string; json?: boolean }>();
  const count = Number(options.events);
  const seed = Number(options.seed);
  const workloads = [
    { name: 'realistic mix (2 KB median, ~1% of 40–300 KB)', bodies: [...workload({ count, seed })] },
    { name: 'every event 2 KB', bodies: [...workload({ count, seed, bytes: 2048 })] },
  ];
  const results = workloads.map((w) => ({ workload: w.name, figures: measure(deliver(w.bodies)) }));
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ events: count, seed, results } satisfies CostBenchResult)}\n`);
    return;
  }
  const out: string[] = [];
  for (const r of results) {
    out.push(`${r.workload}, ${count} events, seed ${seed}:`, ...table(r.figures), '');
  }
  process.stdout.write(out.join('\n'));
}

if (require.main === module) main();
