import { describe, expect, it } from 'vitest';
import { decodeMessage, firstInvalidUtf8Offset, MAX_NESTING_DEPTH } from '../../lib/records/decode';
import { normalizeMessage } from '../../lib/records/normalize';

const alert = {
  SystemAlertId: 'a-1',
  AlertType: 'X',
  VendorName: 'Microsoft',
  AlertDisplayName: 'Caf\u00e9 \u{1F600}',
};

describe('decodeMessage', () => {
  it('accepts an object the host already parsed, a JSON string, a Buffer and a Uint8Array alike', () => {
    const text = JSON.stringify(alert);
    for (const body of [alert, text, Buffer.from(text), new Uint8Array(Buffer.from(text))]) {
      expect(decodeMessage(body)).toEqual({
        envelope: 'object',
        events: [{ index: 0, event: alert }],
        rejections: [],
      });
    }
  });

  it('strips a UTF-8 byte-order mark', () => {
    const withBom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(alert))]);
    expect(decodeMessage(withBom).events).toEqual([{ index: 0, event: alert }]);
    expect(decodeMessage(`\ufeff${JSON.stringify(alert)}`).events).toHaveLength(1);
  });

  it('unwraps an array and a records envelope, one event per element', () => {
    expect(decodeMessage([alert, alert]).events.map((e) => e.index)).toEqual([0, 1]);
    expect(decodeMessage(JSON.stringify({ records: [alert, alert, alert] }))).toMatchObject({
      envelope: 'records',
      events: [{ index: 0 }, { index: 1 }, { index: 2 }],
    });
  });

  it('treats an object with records and other fields as one event, not an envelope', () => {
    const event = { records: [1, 2], id: 'x' };
    expect(decodeMessage(event)).toEqual({
      envelope: 'object',
      events: [{ index: 0, event }],
      rejections: [],
    });
  });

  it('rejects invalid UTF-8 with the offset of the first bad byte', () => {
    const bytes = Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
    expect(decodeMessage(bytes)).toEqual({
      events: [],
      rejections: [{ reason: 'body is not valid UTF-8 (first bad byte at offset 6)' }],
    });
  });

  it('rejects truncated UTF-8 at the end of the body', () => {
    const bytes = Buffer.from('{"a":"\u{1F600}"}').subarray(0, 8);
    expect(decodeMessage(bytes).rejections[0]!.reason).toBe(
      'body is not valid UTF-8 (first bad byte at offset 6)',
    );
  });

  it('decodes a body whose JSON is itself JSON-encoded (object, array, records envelope), as some producers send', () => {
    const twice = (value: unknown) => JSON.stringify(JSON.stringify(value));
    for (const body of [twice(alert), Buffer.from(twice(alert))]) {
      expect(decodeMessage(body)).toEqual({
        envelope: 'object',
        events: [{ index: 0, event: alert }],
        rejections: [],
      });
    }
    expect(decodeMessage(twice([alert, alert])).events).toHaveLength(2);
    expect(decodeMessage(twice({ records: [alert] }))).toMatchObject({
      envelope: 'records',
      events: [{ event: alert }],
    });
    expect(decodeMessage(JSON.stringify('hello')).rejections).toEqual([
      { reason: 'body is a string whose content is not a JSON object or array' },
    ]);
    expect(decodeMessage(JSON.stringify(JSON.stringify(JSON.stringify(alert)))).rejections).toHaveLength(1);
  });

  it('rejects bodies that are not JSON objects or arrays, saying what they are', () => {
    expect(decodeMessage('').rejections).toEqual([{ reason: 'body is empty' }]);
    expect(decodeMessage('42').rejections).toEqual([
      { reason: 'body is a number, not a JSON object or array' },
    ]);
    expect(decodeMessage(null).rejections).toEqual([{ reason: 'body is null, not a JSON object or array' }]);
    expect(decodeMessage('{"a":').rejections[0]!.reason).toMatch(/^body is not valid JSON: /);
  });

  it('rejects a records envelope whose records is not an array', () => {
    expect(decodeMessage({ records: { a: 1 } }).rejections).toEqual([
      { reason: 'envelope field "records" is an object, not an array' },
    ]);
  });

  it('rejects an empty envelope rather than swallowing it', () => {
    expect(decodeMessage('[]').rejections).toEqual([{ reason: 'envelope holds no events (empty array)' }]);
    expect(decodeMessage({ records: [] }).rejections).toEqual([
      { reason: 'envelope holds no events (empty "records")' },
    ]);
  });

  it('rejects only the bad elements of an envelope and keeps the good ones', () => {
    const decoded = decodeMessage({ records: [alert, 7, null, [alert], alert] });
    expect(decoded.events.map((e) => e.index)).toEqual([0, 4]);
    expect(decoded.rejections).toEqual([
      { index: 1, element: 7, reason: 'records[1] is a number, not an object' },
      { index: 2, element: null, reason: 'records[2] is null, not an object' },
      { index: 3, element: [alert], reason: 'records[3] is an array, not an object' },
    ]);
  });

  it(`rejects events nested deeper than ${MAX_NESTING_DEPTH} levels`, () => {
    const deep = `{"a":${'['.repeat(10_000)}${']'.repeat(10_000)}}`;
    expect(decodeMessage(deep).rejections).toEqual([
      { reason: `event nests deeper than ${MAX_NESTING_DEPTH} levels` },
    ]);
    const atLimit = `{"a":${'['.repeat(MAX_NESTING_DEPTH - 1)}${']'.repeat(MAX_NESTING_DEPTH - 1)}}`;
    expect(decodeMessage(atLimit).events).toHaveLength(1);
  });

  it('keeps __proto__ keys as data without touching any prototype', () => {
    const decoded = decodeMessage('{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}}}');
    expect(decoded.events).toHaveLength(1);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const rows = normalizeMessage('{"__proto__":{"polluted":true}}').events;
    expect(rows[0]!.identity.DataType).toBe('Unknown');
    expect(Object.getPrototypeOf(rows[0]!.event)).toBe(Object.prototype);
  });
});

describe('firstInvalidUtf8Offset', () => {
  it('finds overlong encodings, surrogates and stray continuation bytes', () => {
    expect(firstInvalidUtf8Offset(Buffer.from([0x41, 0xc0, 0x80]))).toBe(1); // overlong NUL
    expect(firstInvalidUtf8Offset(Buffer.from([0xed, 0xa0, 0x80]))).toBe(0); // encoded surrogate
    expect(firstInvalidUtf8Offset(Buffer.from([0x41, 0x80]))).toBe(1);
    expect(firstInvalidUtf8Offset(Buffer.from('ok \u{1F600}'))).toBe(7); // valid: its length
  });
});

describe('EventKey', () => {
  const body = JSON.stringify({ records: [alert, { ...alert, SystemAlertId: 'a-2' }] });
  const keys = (enqueuedTimeUtc?: string) =>
    normalizeMessage(body, { enqueuedTimeUtc }).events.map((e) => e.identity.EventKey);

  it('is the same when the same message is delivered again, whatever form the body takes', () => {
    const enqueued = '2026-01-01T00:00:00Z';
    expect(keys(enqueued)).toEqual(keys(enqueued));
    expect(
      normalizeMessage(JSON.parse(body), { enqueuedTimeUtc: enqueued }).events.map(
        (e) => e.identity.EventKey,
      ),
    ).toEqual(keys(enqueued));
  });

  it('differs between events, and between exports of the same item at different times', () => {
    const [first, second] = keys('2026-01-01T00:00:00Z');
    expect(first).not.toBe(second);
    expect(keys('2026-01-08T00:00:00Z')[0]).not.toBe(first);
  });
});

describe('reasons', () => {
  it('never quote the body: a reason reaches the log line, the body only the dead-letter container', () => {
    for (const body of ['password=Hunter2!', '{"secret": Hunter2}', '{"a":1} Hunter2']) {
      const [rejection] = decodeMessage(body).rejections;
      expect(rejection!.reason).toMatch(/^body is not valid JSON: /);
      expect(rejection!.reason).not.toMatch(/Hunter2|password|secret/);
    }
  });
});
