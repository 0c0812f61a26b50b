import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cutString, jsonBytes, prefixWithin } from '../../lib/fit/measure';
import { runs, text } from '../helpers/arbitraries';

const bodyBytes = (s: string) => jsonBytes(s) - 2;

describe('measuring as the Logs Ingestion API counts', () => {
  it('counts escapes and multi-byte characters as sent', () => {
    expect(jsonBytes('\u0001')).toBe(8); // "\u0001" with its quotes
    expect(jsonBytes('é')).toBe(4);
    expect(jsonBytes('\u{1F600}')).toBe(6);
    expect(jsonBytes('\ud800')).toBe(8); // a lone surrogate is escaped
  });

  it('cuts strings into pieces that fit, keep pairs whole, and concatenate back', () => {
    fc.assert(
      fc.property(
        fc.array(text, { maxLength: 50 }).map((parts) => parts.join('')),
        fc.integer({ min: 6, max: 64 }),
        (value, max) => {
          const pieces = cutString(value, max);
          expect(pieces.join('')).toBe(value);
          let offset = 0;
          for (const piece of pieces) {
            expect(bodyBytes(piece)).toBeLessThanOrEqual(max);
            const splitsPair =
              /[\ud800-\udbff]/.test(value.charAt(offset - 1)) &&
              /[\udc00-\udfff]/.test(value.charAt(offset));
            expect(offset > 0 && splitsPair).toBe(false);
            offset += piece.length;
          }
        },
      ),
      runs(500),
    );
  });

  it('takes the longest prefix that fits, and an empty one when not even one character does', () => {
    expect(prefixWithin('ab\u0001c', 3)).toBe('ab');
    expect(prefixWithin('ab\u0001c', 8)).toBe('ab\u0001');
    expect(prefixWithin('\u{1F600}x', 3)).toBe('');
    expect(prefixWithin('abc', 100)).toBe('abc');
  });
});
