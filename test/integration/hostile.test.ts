import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workload } from '../../dev/workload';
import { reassemble, type PartRow } from '../../lib/fit/reassemble';
import { processBatch } from '../../lib/pipeline';
import { normalizeMessage } from '../../lib/records/normalize';
import type { LogsRow } from '../../lib/records/row';
import type { DeadLetterRecord } from '../../lib/sinks/deadLetter';
import { batchOf } from '../helpers/batches';
import { readContainer, startLocalAzure, type LocalAzure } from '../helpers/localAzure';

/**
 * The hostile corpus (test/fixtures/hostile, and three cases too big to store, generated here), each body
 * sent as the bytes the host would hand over, between two good events in one batch: no crash, the body's
 * events delivered or dead-lettered with the expected reason, its neighbours untouched, no prototype pollution.
 */
const DIR = path.resolve(__dirname, '../fixtures/hostile');
const ENQUEUED = '2026-11-24T10:15:00.000Z';
interface Expected {
  rows: string[];
  deadLetters: string[];
}
const expected = JSON.parse(readFileSync(path.join(DIR, 'expected.json'), 'utf8')) as Record<
  string,
  Expected
>;

const alert = (extra: string) =>
  `{"VendorName":"Microsoft","AlertType":"VM_Big","SystemAlertId":"big-1","StartTimeUtc":"2026-11-24T10:00:00Z",` +
  `"TimeGenerated":"2026-11-24T10:00:00Z","Severity":"Medium","AzureResourceId":"/subscriptions/5ec00000-0000-4000-8000-000000000010/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1",${extra}}`;
const generated: Record<string, { body: Buffer } & Expected> = {
  'generated: 10,000-deep nesting': {
    body: Buffer.from(`${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`),
    rows: [],
    deadLetters: ['deeper than'],
  },
  'generated: an alert with a 5 MB string': {
    body: Buffer.from(alert(`"Description":"${'x'.repeat(5 * 1024 * 1024)}"`)),
    rows: ['Alert/VM_Big'],
    deadLetters: [],
  },
  'generated: an alert with 100,000 entities': {
    body: Buffer.from(
      alert(
        `"Entities":[${Array.from({ length: 100_000 }, (_, i) => `{"$id":"${i}","Type":"ip"}`).join(',')}]`,
      ),
    ),
    rows: ['Alert/VM_Big'],
    deadLetters: [],
  },
  'generated: an array of 100,000 numbers': {
    body: Buffer.from(`[${Array.from({ length: 100_000 }, (_, i) => i).join(',')}]`),
    rows: [],
    deadLetters: Array.from({ length: 100_000 }, () => 'is a number, not an object'),
  },
};
const stored = readdirSync(DIR)
  .filter((f) => f !== 'expected.json')
  .map((f) => [f, { body: readFileSync(path.join(DIR, f)), ...expected[f]! }] as const);

let local: LocalAzure;
const prototypeBefore = Object.getOwnPropertyNames(Object.prototype).sort();
beforeAll(async () => {
  local = await startLocalAzure();
});
afterAll(async () => {
  await local?.close();
});

describe('hostile input', () => {
  it('has an expectation for every stored body', () => {
    expect(stored.map(([f]) => f).sort()).toEqual(
      Object.keys(expected)
        .filter((k) => !k.startsWith('$'))
        .sort(),
    );
  });

  it.each([...stored, ...Object.entries(generated)])(
    '%s: no crash, the expected rows or dead letters, neighbours untouched',
    async (_name, hostile) => {
      local.logs.reset();
      const env = local.env();
      const deps = await local.deps(env);
      const good = [...workload({ count: 2, seed: 99 })];
      const bodies: unknown[] = [Buffer.from(good[0]!), hostile.body, Buffer.from(good[1]!)];
      const ledger = await processBatch(batchOf(bodies, { enqueuedTimeUtc: ENQUEUED }), deps);
      expect(ledger.problems).toEqual([]);

      const accepted = local.logs.accepted('Custom-DefenderExport') as unknown as LogsRow[];
      const byKey = new Map<string, PartRow[]>();
      for (const row of accepted) byKey.set(row.EventKey, [...(byKey.get(row.EventKey) ?? []), row]);
      const archived = (await readContainer(deps.archive.container)).flatMap((b) => b.lines);

      // The neighbours: delivered whole to logs and archive.
      for (const [i, body] of [good[0]!, good[1]!].entries()) {
        const { events } = normalizeMessage(body, { enqueuedTimeUtc: ENQUEUED });
        const key = events[0]!.identity.EventKey;
        expect(byKey.has(key), `good event ${i} in logs`).toBe(true);
        expect(JSON.stringify(reassemble(byKey.get(key)!))).toBe(JSON.stringify(JSON.parse(body)));
        expect(archived).toContain(JSON.stringify(JSON.parse(body)));
      }

      // The hostile body: its events delivered as expected (split ones reassemble exactly)…
      const { events } = normalizeMessage(hostile.body, { enqueuedTimeUtc: ENQUEUED });
      expect(events.map((e) => `${e.identity.DataType}/${e.identity.Category}`)).toEqual(hostile.rows);
      for (const event of events) {
        const parts = byKey.get(event.identity.EventKey);
        expect(parts, 'hostile event in logs').toBeDefined();
        for (const part of parts!)
          expect(Buffer.byteLength(JSON.stringify(part))).toBeLessThanOrEqual(32_768);
        expect(JSON.stringify(reassemble(parts!))).toBe(event.json);
      }
      // …and the rest dead-lettered with the expected reasons.
      const deadLetters = (await readContainer(deps.deadLetters.container)).flatMap((b) =>
        b.lines.map((line) => JSON.parse(line) as DeadLetterRecord),
      );
      expect(deadLetters.every((d) => d.stage === 'input' && d.sequenceNumber === 101)).toBe(true);
      expect(deadLetters).toHaveLength(hostile.deadLetters.length);
      hostile.deadLetters.forEach((reason, i) => expect(deadLetters[i]!.reason).toMatch(new RegExp(reason)));

      expect(ledger.received).toBe(2 + events.length + deadLetters.length);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeBefore);
    },
    120_000,
  );
});
