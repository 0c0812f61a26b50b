import fc from 'fast-check';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy, type ProxyFault } from '../../dev/faultProxy';
import type { Fault } from '../../dev/logsIngestionServer';
import { workload } from '../../dev/workload';
import { reassemble, type PartRow } from '../../lib/fit/reassemble';
import type { Ledger } from '../../lib/ledger';
import { processBatch } from '../../lib/pipeline';
import { normalizeMessage } from '../../lib/records/normalize';
import type { LogsRow } from '../../lib/records/row';
import { redriveParked } from '../../lib/redrive';
import type { DeadLetterRecord } from '../../lib/sinks/deadLetter';
import { batchOf } from '../helpers/batches';
import { FAST, readContainer, startLocalAzure, type LocalAzure } from '../helpers/localAzure';

/**
 * Randomised fault injection through the real SDK pipelines: the Logs Ingestion stand-in's fault modes
 * (429 storms with Retry-After, 500/503, connection resets, answers slower than the client's timeout, 400
 * and 413 on a poisoned subset) and fault proxies in front of Azurite's blob and table endpoints (503, a
 * 409 that is not BlobAlreadyExists, resets, a heartbeat table outage). Whatever happens, every ledger
 * balances, and once the faults clear and redrive has run, every valid event is in the archive exactly
 * once and in the logs at least once (deduplicable by EventKey); only the poisoned ones are dead-lettered.
 *
 * A few runs with a fixed seed in CI; `FAULT_RUNS=2000 npm test` for the long run (`FAULT_SEED` to replay).
 */
const RUNS = Number(process.env.FAULT_RUNS ?? 6);
const SEED = Number(process.env.FAULT_SEED ?? 20261124);

let local: LocalAzure;
let tableProxy: FaultProxy;
beforeAll(async () => {
  local = await startLocalAzure();
  tableProxy = await startFaultProxy({ host: '127.0.0.1', port: local.azurite.tablePort });
});
afterAll(async () => {
  await tableProxy?.close();
  await local?.close();
});

type LogsFaultSpec =
  | { kind: 'throttle'; times: number }
  | { kind: 'server'; status: 500 | 503; times: number }
  | { kind: 'reset'; times: number }
  | { kind: 'slow'; times: number }
  | { kind: 'poison'; status: 400 | 413 };
type StorageFaultSpec =
  | { kind: 'archive'; status: 503 | 409; times: number }
  | { kind: 'archiveReset'; times: number }
  | { kind: 'parking'; times: number }
  | { kind: 'deadLetter'; times: number }
  | { kind: 'heartbeatOutage' };

/** A fault of `kind` that hits the next 1..max matching requests. */
const repeated = <K extends string>(kind: K, max: number) =>
  fc.record({ kind: fc.constant(kind), times: fc.integer({ min: 1, max }) });
const logsFault: fc.Arbitrary<LogsFaultSpec> = fc.oneof(
  repeated('throttle' as const, 12),
  fc
    .record({ status: fc.constantFrom(500 as const, 503 as const) })
    .chain((r) => repeated('server' as const, 12).map((f) => ({ ...f, ...r }))),
  repeated('reset' as const, 6),
  repeated('slow' as const, 3),
  fc.record({ kind: fc.constant('poison' as const), status: fc.constantFrom(400 as const, 413 as const) }),
);
const storageFault: fc.Arbitrary<StorageFaultSpec> = fc.oneof(
  fc
    .record({ status: fc.constantFrom(503 as const, 409 as const) })
    .chain((r) => repeated('archive' as const, 6).map((f) => ({ ...f, ...r }))),
  repeated('archiveReset' as const, 4),
  repeated('parking' as const, 4),
  repeated('deadLetter' as const, 4),
  fc.constant({ kind: 'heartbeatOutage' as const }),
);
const scenario = fc.record({
  seed: fc.integer({ min: 1, max: 1_000_000 }),
  batches: fc.array(
    fc.record({ events: fc.integer({ min: 1, max: 25 }), invalid: fc.integer({ min: 0, max: 2 }) }),
    { minLength: 1, maxLength: 3 },
  ),
  poisoned: fc.integer({ min: 0, max: 2 }),
  logsFaults: fc.array(logsFault, { maxLength: 3 }),
  storageFaults: fc.array(storageFault, { maxLength: 3 }),
});

const ENQUEUED = '2026-11-24T10:15:00.000Z';
const SLOW_MS = 400;
const TIMEOUT_MS = 150;

describe('fault injection', () => {
  it(
    `keeps every ledger balanced and, once faults clear and redrive runs, loses nothing (${RUNS} runs, seed ${SEED})`,
    async () => {
      let faultsInjected = 0;
      let eventsSent = 0;
      await fc.assert(
        fc.asyncProperty(scenario, async (s) => {
          local.logs.reset();
          local.proxy.clear();
          tableProxy.clear();
          const env: NodeJS.ProcessEnv = {
            ...local.env(),
            AzureWebJobsStorage: local.azurite.connectionString({
              blobPort: local.proxy.port,
              tablePort: tableProxy.port,
            }),
          };
          let now = new Date('2026-11-24T10:20:00Z');
          const deps = await local.deps(env, { ...FAST, clock: () => now, logsTimeoutMs: TIMEOUT_MS });

          // The input: generated events (every data type, a tail of oversized ones), some invalid bodies.
          const batches = s.batches.map((b, i) => {
            const bodies: string[] = [...workload({ count: b.events, seed: s.seed + i })];
            for (let k = 0; k < b.invalid; k++) bodies.splice(k * 3, 0, `{"broken": ${k}`);
            return batchOf(bodies, { firstSequenceNumber: 1000 * (i + 1), enqueuedTimeUtc: ENQUEUED });
          });
          const validEvents = batches.flatMap((b) =>
            b.messages.map((m) => m.body as string).filter((body) => !body.startsWith('{"broken"')),
          );
          const poisonedEvents = new Set(
            validEvents.slice(0, s.poisoned).map((body) => JSON.stringify(JSON.parse(body))),
          );
          eventsSent += validEvents.length;
          const poisonedKeys = new Set(
            validEvents
              .slice(0, s.poisoned)
              .map(
                (body) => normalizeMessage(body, { enqueuedTimeUtc: ENQUEUED }).events[0]!.identity.EventKey,
              ),
          );
          const isPoisoned = (rows: Array<Record<string, unknown>>) =>
            rows.some((row) => poisonedKeys.has(String(row.EventKey)));

          for (const f of s.logsFaults) {
            const fault: Fault =
              f.kind === 'throttle'
                ? { status: 429, retryAfterMs: 5, times: f.times }
                : f.kind === 'server'
                  ? { status: f.status, times: f.times }
                  : f.kind === 'reset'
                    ? { status: 0, reset: true, times: f.times }
                    : f.kind === 'slow'
                      ? { status: 204, delayMs: SLOW_MS, times: f.times }
                      : {
                          status: f.status,
                          code: f.status === 413 ? 'ContentLengthLimitExceeded' : 'InvalidRecord',
                          when: isPoisoned,
                          times: Infinity,
                        };
            local.logs.inject(fault);
            faultsInjected++;
          }
          const writesTo = (setting: string, fault: ProxyFault): ProxyFault => ({
            method: 'PUT',
            path: new RegExp(`/${env[setting]}/`),
            ...fault,
          });
          for (const f of s.storageFaults) {
            const fault: ProxyFault =
              f.kind === 'archive'
                ? writesTo('ARCHIVE_CONTAINER', {
                    status: f.status,
                    ...(f.status === 409 ? { code: 'ContainerBeingDeleted' } : {}),
                    times: f.times,
                  })
                : f.kind === 'archiveReset'
                  ? writesTo('ARCHIVE_CONTAINER', { reset: true, times: f.times })
                  : f.kind === 'parking'
                    ? writesTo('PARKED_CONTAINER', { status: 503, times: f.times })
                    : f.kind === 'deadLetter'
                      ? writesTo('DEADLETTER_CONTAINER', { status: 503, times: f.times })
                      : { path: /DefenderExportHeartbeat/, status: 503 };
            (f.kind === 'heartbeatOutage' ? tableProxy : local.proxy).inject(fault);
            faultsInjected++;
          }

          // The batches, as the host runs them: a throw (storage down while parking) is retried.
          const ledgers: Ledger[] = [];
          for (const batch of batches) {
            for (let attempt = 1; ; attempt++) {
              try {
                ledgers.push(await processBatch(batch, deps));
                break;
              } catch (error) {
                if (attempt >= 10) throw error;
              }
            }
          }

          for (const ledger of ledgers) expect(ledger.problems).toEqual([]);

          // The faults clear; redrive runs until nothing is parked.
          local.logs.clearFaults();
          local.proxy.clear();
          tableProxy.clear();
          for (let round = 0; round < 12; round++) {
            now = new Date(now.getTime() + 2 * 3_600_000);
            const report = await redriveParked({ ...deps, maxAgeMs: 1e12 });
            if (report.parked === 0) break;
          }
          expect((await readContainer(deps.parking.container)).length).toBe(0);

          // Archive: every valid event exactly once.
          const archived = (await readContainer(deps.archive.container)).flatMap((b) => b.lines);
          expect(archived.sort()).toEqual(validEvents.map((body) => JSON.stringify(JSON.parse(body))).sort());

          // Dead letters: the invalid bodies (stage input) and the poisoned events (stage logs), nothing else.
          const deadLetters = (await readContainer(deps.deadLetters.container)).flatMap((b) =>
            b.lines.map((line) => JSON.parse(line) as DeadLetterRecord),
          );
          const invalidCount = s.batches.reduce((n, b) => n + b.invalid, 0);
          expect(deadLetters.filter((d) => d.stage === 'input')).toHaveLength(invalidCount);
          const refused = deadLetters.filter((d) => d.stage !== 'input');
          for (const d of refused) expect(poisonedEvents.has(d.body)).toBe(true);

          // Logs: every valid event at least once, whole again after deduplicating parts by EventKey and PartIndex.
          const byKey = new Map<string, Map<number, PartRow>>();
          for (const row of local.logs.accepted('Custom-DefenderExport') as unknown as LogsRow[]) {
            const parts = byKey.get(row.EventKey) ?? new Map<number, PartRow>();
            parts.set(row.PartIndex, row);
            byKey.set(row.EventKey, parts);
          }
          const inLogs = new Set(
            [...byKey.values()].map((parts) => JSON.stringify(reassemble([...parts.values()]))),
          );
          const missing = validEvents
            .map((body) => JSON.stringify(JSON.parse(body)))
            .filter((event) => !inLogs.has(event) && !refused.some((d) => d.body === event));
          expect(missing).toEqual([]);
        }),
        { numRuns: RUNS, seed: SEED, endOnFailure: true },
      );
      expect(faultsInjected).toBeGreaterThan(RUNS);
      // The figures of a long run: FAULT_SUMMARY=<file> (vitest keeps a passing test's console to itself).
      const summary = `fault injection: ${RUNS} runs (seed ${SEED}), ${faultsInjected} faults injected, ${eventsSent} valid events, 0 lost\n`;
      if (process.env.FAULT_SUMMARY) writeFileSync(process.env.FAULT_SUMMARY, summary);
    },
    Math.max(600_000, RUNS * 15_000),
  );
});
