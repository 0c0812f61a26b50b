import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FitError } from '../../lib/errors';
import { fitRow } from '../../lib/fit/fit';
import { jsonBytes } from '../../lib/fit/measure';
import { reassemble } from '../../lib/fit/reassemble';
import { normalizeEvent } from '../../lib/records/normalize';
import type { LogsRow, RowIdentity } from '../../lib/records/row';
import { event, limit, runs } from '../helpers/arbitraries';

const ARCHIVE = 'unknown/y=2026/m=11/d=24/h=10/p0-100-199.ndjson.gz';

function identityOf(row: LogsRow): RowIdentity {
  const {
    PartIndex: _a,
    PartCount: _b,
    PartPath: _c,
    Trimmed: _d,
    OriginalBytes: _e,
    ArchiveBlob: _f,
    Properties: _g,
    ...identity
  } = row;
  return identity;
}

describe('fit, for any event and any limit from 1 KB to 1 MB', () => {
  it('split: every part fits, carries every identity column, and the parts reassemble to exactly the event', () => {
    fc.assert(
      fc.property(event, limit, (input, max) => {
        const normalized = normalizeEvent(input, { index: 0, enqueuedTimeUtc: '2026-11-24T10:00:00Z' });
        const { outcome, rows, originalBytes } = fitRow(normalized, {
          limit: max,
          strategy: 'split',
          archiveBlob: ARCHIVE,
        });
        expect(outcome).toBe(originalBytes <= max ? 'whole' : 'split');
        rows.forEach((row, i) => {
          expect(jsonBytes(row)).toBeLessThanOrEqual(max);
          expect(identityOf(row)).toEqual(normalized.identity);
          expect(row).toMatchObject({
            PartIndex: i,
            PartCount: rows.length,
            OriginalBytes: originalBytes,
            Trimmed: false,
          });
        });
        expect(JSON.stringify(reassemble(rows))).toBe(normalized.json);
      }),
      runs(150),
    );
  });

  it('trim: one row that fits, keeps every identity column, says Trimmed and points at the archive', () => {
    fc.assert(
      fc.property(event, limit, (input, max) => {
        const normalized = normalizeEvent(input, { index: 0 });
        const { outcome, rows, originalBytes } = fitRow(normalized, {
          limit: max,
          strategy: 'trim',
          archiveBlob: ARCHIVE,
        });
        expect(rows).toHaveLength(1);
        const row = rows[0]!;
        expect(jsonBytes(row)).toBeLessThanOrEqual(max);
        expect(identityOf(row)).toEqual(normalized.identity);
        if (originalBytes <= max) {
          expect(outcome).toBe('whole');
          expect(row.Properties).toEqual(input);
        } else {
          expect(outcome).toBe('trimmed');
          expect(row).toMatchObject({
            Trimmed: true,
            ArchiveBlob: ARCHIVE,
            OriginalBytes: originalBytes,
            PartCount: 1,
          });
          expect(typeof row.Properties).toBe('object');
        }
      }),
      runs(150),
    );
  });

  it('fails only with a FitError, and only when the identity columns leave no room', () => {
    const idLength = fc.integer({ min: 0, max: 3000 });
    fc.assert(
      fc.property(
        event,
        limit,
        idLength,
        fc.constantFrom('split' as const, 'trim' as const),
        (input, max, length, strategy) => {
          const withId = { ...input, id: `/subscriptions/s/${'i'.repeat(length)}` };
          const normalized = normalizeEvent(withId, { index: 0 });
          try {
            for (const row of fitRow(normalized, { limit: max, strategy, archiveBlob: ARCHIVE }).rows) {
              expect(jsonBytes(row)).toBeLessThanOrEqual(max);
            }
          } catch (error) {
            expect(error).toBeInstanceOf(FitError);
            expect(jsonBytes({ ...normalized.identity, ArchiveBlob: ARCHIVE })).toBeGreaterThan(max - 300);
          }
        },
      ),
      runs(100),
    );
  });
});
