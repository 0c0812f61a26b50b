import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fitRow } from '../../lib/fit/fit';
import { normalizeEvent } from '../../lib/records/normalize';
import { createRouter } from '../../lib/routing/route';
import { stepMessage, type StepOptions } from '../../lib/step';
import { event, limit, runs } from '../helpers/arbitraries';

const ENQUEUED = '2026-11-24T10:00:00.000Z';
const ARCHIVE = 'unknown/y=2026/m=11/d=24/h=10/p0-100-199.ndjson.gz';

const options = (recordLimit: number, oversize: 'split' | 'trim'): StepOptions => ({
  route: createRouter([{ to: ['logs'] }], { stream: 'Custom-DefenderExport', oversize }),
  recordLimit,
  enqueuedTimeUtc: ENQUEUED,
  now: () => new Date(ENQUEUED),
  archiveBlob: () => ARCHIVE,
});

describe('the per-event step, for any event and any limit', () => {
  it('sends exactly the bytes JSON.stringify writes for each fitted row, and the event itself as the archive line', () => {
    let routed = 0;
    fc.assert(
      fc.property(
        event,
        limit,
        fc.constantFrom('split' as const, 'trim' as const),
        (input, max, oversize) => {
          const [result] = [...stepMessage(JSON.stringify(input), options(max, oversize))];
          if (result?.kind !== 'routed') return expect(result?.kind).toBe('rejected');
          routed++;
          const normalized = normalizeEvent(input, { index: 0, enqueuedTimeUtc: ENQUEUED });
          expect(result.event.bytes.toString('utf8')).toBe(JSON.stringify(input));
          const expected = fitRow(normalized, { limit: max, strategy: oversize, archiveBlob: ARCHIVE });
          expect('rows' in result.fitted && result.fitted.rows.map((row) => row.toString('utf8'))).toEqual(
            expected.rows.map((row) => JSON.stringify(row)),
          );
        },
      ),
      runs(300),
    );
    expect(routed).toBeGreaterThan(100);
  });
});
