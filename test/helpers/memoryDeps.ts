import { expect } from 'vitest';
import { reassemble, type PartRow } from '../../lib/fit/reassemble';
import type { Ledger } from '../../lib/ledger';
import { memorySinks, type MemoryLogsSink, type MemoryParkingStore } from '../../lib/memory';
import type { PipelineDependencies } from '../../lib/pipeline';
import type { ParkedItem } from '../../lib/ports';
import type { LogsRow } from '../../lib/records/row';
import type { RedriveDependencies } from '../../lib/redrive';
import { createRouter } from '../../lib/routing/route';
import { DEFAULT_ROUTES, DEFAULT_STREAM, type Rule } from '../../lib/routing/rules';

/**
 * The pipeline and the redrive wired to the in-memory twins of lib/memory.ts, with a clock the test owns:
 * no Azurite, no https stand-in, no network, and never the real clock for anything asserted.
 */

export const STREAM = DEFAULT_STREAM;
export const LOGS = `logs:${STREAM}`;
/** When the pipeline runs, unless a test moves its clock. */
export const NOW = new Date('2026-11-24T10:20:00.000Z');
export const RECORD_LIMIT = 32_768;
export const BACKOFF_STEP_MS = 60_000;
export const backoff = (attempts: number) => BACKOFF_STEP_MS * attempts;

/** A clock a test moves by hand. */
export class TestClock {
  constructor(public now: Date = NOW) {}
  readonly read = () => this.now;
  advance(ms: number): Date {
    this.now = new Date(this.now.getTime() + ms);
    return this.now;
  }
}

export interface MemoryPipelineOptions {
  rules?: Rule[];
  clock?: TestClock;
  overrides?: Partial<PipelineDependencies>;
}

/** Memory sinks and the PipelineDependencies over them. */
export function memoryPipeline(options: MemoryPipelineOptions = {}) {
  const sinks = memorySinks();
  const clock = options.clock ?? new TestClock();
  const deps: PipelineDependencies = {
    route: createRouter(options.rules ?? DEFAULT_ROUTES, { stream: STREAM, oversize: 'split' }),
    recordLimit: RECORD_LIMIT,
    ...sinks,
    clock: clock.read,
    backoff,
    ...options.overrides,
  };
  const redriveDeps = (overrides: Partial<RedriveDependencies> = {}): RedriveDependencies => ({
    logs: sinks.logs,
    archive: sinks.archive,
    parking: sinks.parking,
    deadLetters: sinks.deadLetters,
    clock: clock.read,
    backoff,
    maxAttempts: 5,
    maxAgeMs: 24 * 3_600_000,
    ...overrides,
  });
  return { ...sinks, clock, deps, redriveDeps };
}

/** Every event accounted for: the ledger's own audit, and the sums checked here again, per destination. */
export function expectBalanced(ledger: Ledger): void {
  expect(ledger.problems).toEqual([]);
  expect(ledger.invalid + ledger.faults + ledger.dropped + ledger.routed).toBe(ledger.received);
  for (const [name, d] of Object.entries(ledger.destinations))
    expect(d.delivered + d.parked + d.deadLettered, `${name} routed ${d.routed}`).toBe(d.routed);
}

export function rowsOf(sink: MemoryLogsSink, stream?: string): LogsRow[] {
  return sink.rows(stream) as unknown as LogsRow[];
}

/** Rows put back together per EventKey: the events they carry, as JSON. */
export function eventsFromRows(rows: readonly LogsRow[]): Map<string, string> {
  const byKey = new Map<string, PartRow[]>();
  for (const row of rows) byKey.set(row.EventKey, [...(byKey.get(row.EventKey) ?? []), row]);
  return new Map([...byKey].map(([key, parts]) => [key, JSON.stringify(reassemble(parts))]));
}

/** The events that reached `stream`, as JSON, sorted. */
export function eventsInLogs(sink: MemoryLogsSink, stream?: string): string[] {
  return [...eventsFromRows(rowsOf(sink, stream)).values()].sort();
}

export function parkedItems(parking: MemoryParkingStore): ParkedItem[] {
  return [...parking.items.values()].map((entry) => entry.item);
}

export function parkedLogs(parking: MemoryParkingStore) {
  return parkedItems(parking).filter(
    (item): item is ParkedItem & { destination: 'logs' } => item.destination === 'logs',
  );
}

export function parkedArchive(parking: MemoryParkingStore) {
  return parkedItems(parking).filter(
    (item): item is ParkedItem & { destination: 'archive' } => item.destination === 'archive',
  );
}

export const sorted = (values: Iterable<string>) => [...values].sort();
