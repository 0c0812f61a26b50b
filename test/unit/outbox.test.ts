import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { fault, MemoryArchive, MemoryLogsSink } from '../../lib/memory';
import { ArchiveOutbox, archiveContent } from '../../lib/outbox/archiveOutbox';
import {
  AUXILIARY_WINDOW_MS,
  LogsOutbox,
  MAX_REQUEST_BYTES,
  type OutgoingRow,
} from '../../lib/outbox/logsOutbox';
import type { LogsSink } from '../../lib/ports';
import type { BatchOrigin } from '../../lib/sinks/archiveBlobName';

const STREAM = 'Custom-DefenderExport';

interface TestRow extends OutgoingRow {
  id: number;
}

/** A row of about `bytes` bytes of JSON. */
function row(id: number, bytes = 200): TestRow {
  const frame = JSON.stringify({ id, pad: '' });
  return {
    id,
    bytes: Buffer.from(JSON.stringify({ id, pad: 'x'.repeat(Math.max(0, bytes - frame.length)) })),
  };
}

const rows = (count: number, bytes?: number) => Array.from({ length: count }, (_, id) => row(id, bytes));
const ids = (list: Iterable<{ id: unknown }>) => [...list].map((r) => r.id as number).sort((a, b) => a - b);

/** Sends `list` through an outbox over `sink` and returns the shortfall and the rows reported delivered. */
async function send(sink: LogsSink, list: readonly TestRow[], maxInFlight?: number) {
  const delivered: TestRow[] = [];
  const outbox = new LogsOutbox<TestRow>(sink, STREAM, {
    ...(maxInFlight ? { maxInFlight } : {}),
    onDelivered: (sent) => delivered.push(...sent),
  });
  for (const r of list) await outbox.add(r);
  const shortfall = await outbox.close();
  return { ...shortfall, delivered };
}

/** Every row delivered, rejected or failed, and in exactly one of these. */
function expectPartition(list: readonly TestRow[], result: Awaited<ReturnType<typeof send>>) {
  const all = [
    ...result.delivered,
    ...result.rejected.map((r) => r.row),
    ...result.failed.flatMap((f) => f.rows),
  ];
  expect(ids(all)).toEqual(ids(list));
}

/** Records each request body's size, then hands it to `inner`. */
class MeasuringSink implements LogsSink {
  readonly bodyBytes: number[] = [];
  constructor(private readonly inner: LogsSink) {}
  upload(stream: string, body: Buffer) {
    this.bodyBytes.push(body.length);
    return this.inner.upload(stream, body);
  }
}

describe('LogsOutbox', () => {
  it.each([
    [400, 'InvalidRecord'],
    [413, 'ContentLengthLimitExceeded'],
  ])('halves a request refused with %i until only the poisoned row is rejected', async (status, code) => {
    const sink = new MemoryLogsSink();
    sink.faults.inject(fault.refuseRows((r) => r.id === 37, status));
    const list = rows(64);
    const result = await send(sink, list);

    expectPartition(list, result);
    expect(result.failed).toEqual([]);
    expect(result.rejected).toHaveLength(1);
    expect(result.rejected[0]!.row.id).toBe(37);
    expect(result.rejected[0]!.failure).toMatchObject({ status, code, requestId: expect.any(String) });
    expect(ids(result.delivered)).toEqual(ids(list).filter((id) => id !== 37));
    expect(ids(sink.rows(STREAM) as Array<{ id: number }>)).toEqual(ids(result.delivered));
    // Halved, not resent row by row: one refused request per level, log2(64) + 1 levels.
    expect(sink.requests.filter((r) => r.status === status)).toHaveLength(Math.log2(64) + 1);
    expect(sink.requests.length).toBeLessThanOrEqual(2 * (Math.log2(64) + 1));
  });

  it('isolates every poisoned row when a request holds several', async () => {
    const sink = new MemoryLogsSink();
    const poisoned = new Set([0, 21, 22, 99]);
    sink.faults.inject(fault.refuseRows((r) => poisoned.has(r.id as number)));
    const list = rows(100);
    const result = await send(sink, list);

    expectPartition(list, result);
    expect(ids(result.rejected.map((r) => r.row))).toEqual([...poisoned].sort((a, b) => a - b));
    expect(ids(result.delivered)).toEqual(ids(list).filter((id) => !poisoned.has(id)));
    expect(result.failed).toEqual([]);
  });

  it.each([
    ['503', fault.fail(1, 503), { status: 503, code: 'Http503' }],
    ['429', fault.throttle(1), { status: 429, code: 'TooManyRequests' }],
  ])(
    'returns the rows of a request that failed with %s in `failed`, with the failure',
    async (_, injected, failure) => {
      const sink = new MemoryLogsSink();
      sink.faults.inject(injected);
      const list = rows(300, 10_000); // about 3 MB: several requests
      const result = await send(sink, list, 1);

      expectPartition(list, result);
      expect(result.rejected).toEqual([]);
      expect(result.failed).toHaveLength(1);
      const [failed] = result.failed;
      expect(failed!.failure).toMatchObject({ ...failure, requestId: expect.any(String) });
      // The first request failed; it is returned whole, and only it.
      expect(sink.requests[0]).toMatchObject({ status: failure.status, rows: failed!.rows.length });
      expect(ids(failed!.rows)).toEqual(ids(list.slice(0, failed!.rows.length)));
      expect(sink.requests.length).toBeGreaterThan(2);
      expect(ids(result.delivered)).toEqual(ids(list.slice(failed!.rows.length)));
    },
  );

  it('returns the rows of a request lost to a network error in `failed`', async () => {
    const memory = new MemoryLogsSink();
    let calls = 0;
    const flaky: LogsSink = {
      upload: async (stream, body) => {
        if (calls++ === 0) throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
        return memory.upload(stream, body);
      },
    };
    const list = rows(10);
    const result = await send(flaky, list);
    expectPartition(list, result);
    expect(result.failed).toHaveLength(1);
    expect(result.failed[0]!.failure).toMatchObject({
      code: 'ECONNRESET',
      message: expect.stringMatching(/socket hang up/),
    });
    expect(result.failed[0]!.failure.status).toBeUndefined();
    expect(ids(result.failed[0]!.rows)).toEqual(ids(list));
  });

  it('cuts requests below 1 MB', async () => {
    const measuring = new MeasuringSink(new MemoryLogsSink());
    const list = rows(10, 300_000);
    const result = await send(measuring, list);
    expect(ids(result.delivered)).toEqual(ids(list));
    expect(measuring.bodyBytes.length).toBe(Math.ceil(list.length / 3));
    for (const bytes of measuring.bodyBytes) expect(bytes).toBeLessThan(MAX_REQUEST_BYTES);
  });

  it('sends a single row over 1 MB alone, and only it is rejected', async () => {
    const sink = new MemoryLogsSink();
    const list = [row(1), row(2, 1_100_000), row(3)];
    const result = await send(sink, list, 1);

    expectPartition(list, result);
    expect(sink.requests.map((r) => [r.rows, r.status])).toEqual([
      [1, 204],
      [1, 413],
      [1, 204],
    ]);
    expect(result.rejected.map((r) => r.row.id)).toEqual([2]);
    expect(result.rejected[0]!.failure).toMatchObject({ status: 413, code: 'ContentLengthLimitExceeded' });
    expect(ids(result.delivered)).toEqual([1, 3]);
  });

  it('sends a row too big to share a request on its own, and delivers it', async () => {
    const measuring = new MeasuringSink(new MemoryLogsSink());
    const list = [row(1, 600_000), row(2, 600_000), row(3, 600_000)];
    const result = await send(measuring, list);
    expect(ids(result.delivered)).toEqual([1, 2, 3]);
    expect(measuring.bodyBytes).toHaveLength(3);
  });
});

describe('ArchiveOutbox', () => {
  const origin: BatchOrigin = {
    source: 'defender-cloud',
    partitionId: '3',
    firstSequenceNumber: 7,
    lastSequenceNumber: 9,
  };
  const A = 'alert/y=2026/m=11/d=24/h=10/defender-cloud-p3-7-9.ndjson.gz';
  const B = 'recommendation/y=2026/m=11/d=24/h=10/defender-cloud-p3-7-9.ndjson.gz';
  const linesA = [
    JSON.stringify({ SystemAlertId: 'a1', Name: 'caf\u00e9 \u{1F600}' }),
    JSON.stringify({ SystemAlertId: 'a2', CommandLine: 'cmd /c "echo\tx\ny"' }),
    JSON.stringify({ SystemAlertId: 'a3' }),
  ];
  const linesB = [JSON.stringify({ id: 'b1' }), JSON.stringify({ id: 'b2', text: '監視' })];

  /** Lines of A and B interleaved, as a batch of mixed types gives them; owners are event slots. */
  async function fill(outbox: ArchiveOutbox) {
    await outbox.add(A, linesA[0]!, 0);
    await outbox.add(B, linesB[0]!, 1);
    await outbox.add(A, linesA[1]!, 2);
    await outbox.add(A, linesA[2]!, 3);
    await outbox.add(B, linesB[1]!, 4);
  }

  it('writes the lines of each blob name as one gzip NDJSON blob, with its events in the metadata', async () => {
    const archive = new MemoryArchive();
    const outbox = new ArchiveOutbox(archive, origin);
    await fill(outbox);
    const results = await outbox.close();

    expect(results).toHaveLength(2);
    expect(results.find((r) => r.name === A)).toEqual({
      name: A,
      owners: [0, 2, 3],
      ok: true,
      created: true,
    });
    expect(results.find((r) => r.name === B)).toEqual({ name: B, owners: [1, 4], ok: true, created: true });
    expect(sortedKeys(archive)).toEqual([A, B].sort());
    for (const [name, lines] of [
      [A, linesA],
      [B, linesB],
    ] as const) {
      const blob = archive.blobs.get(name)!;
      expect([...blob.content.subarray(0, 2)]).toEqual([0x1f, 0x8b]);
      expect(gunzipSync(blob.content).toString('utf8')).toBe(`${lines.join('\n')}\n`);
      expect(blob.metadata).toEqual({ origin, events: lines.length });
    }
  });

  it('compresses many lines as they come and keeps every one', async () => {
    const archive = new MemoryArchive();
    const outbox = new ArchiveOutbox(archive, origin);
    const lines = Array.from({ length: 1000 }, (_, i) =>
      JSON.stringify({ i, text: `event ${i} `.repeat(40) }),
    );
    for (const [i, line] of lines.entries()) await outbox.add(i % 2 ? A : B, line, i);
    const results = await outbox.close();
    expect(results.every((r) => r.ok)).toBe(true);
    expect(archive.lines(A)).toEqual(lines.filter((_, i) => i % 2));
    expect(archive.lines(B)).toEqual(lines.filter((_, i) => i % 2 === 0));
  });

  it('leaves a blob that already exists as it is, and says so', async () => {
    const archive = new MemoryArchive();
    const first = new ArchiveOutbox(archive, origin);
    await fill(first);
    await first.close();
    const before = archive.blobs.get(A)!.content;

    const again = new ArchiveOutbox(archive, origin);
    await again.add(A, JSON.stringify({ SystemAlertId: 'other' }), 0);
    const [result] = await again.close();
    expect(result).toMatchObject({ name: A, ok: true, created: false });
    expect(archive.blobs.get(A)!.content).toBe(before);
    expect(archive.lines(A)).toEqual(linesA);
  });

  it('returns the lines of a blob it could not create, for parking, and writes the others', async () => {
    const archive = new MemoryArchive();
    archive.faults.inject({ status: 503, code: 'ServerBusy', when: (name: string) => name === B });
    const outbox = new ArchiveOutbox(archive, origin);
    await fill(outbox);
    const results = await outbox.close();

    const failed = results.find((r) => r.name === B)!;
    expect(failed).toMatchObject({
      ok: false,
      owners: [1, 4],
      lines: linesB,
      failure: { status: 503, code: 'ServerBusy', requestId: expect.any(String) },
    });
    expect(results.find((r) => r.name === A)).toMatchObject({ ok: true, created: true });
    expect(sortedKeys(archive)).toEqual([A]);
    // The redrive writes parked lines back as the same NDJSON.
    if (failed.ok) throw new Error('expected a failure');
    expect(gunzipSync(archiveContent(failed.lines)).toString('utf8')).toBe(`${linesB.join('\n')}\n`);
  });
});

function sortedKeys(archive: MemoryArchive): string[] {
  return [...archive.blobs.keys()].sort();
}

describe('LogsOutbox for a table on the Auxiliary plan', () => {
  /** Records every request's rows as parsed. */
  class RecordingSink implements LogsSink {
    readonly requests: Array<Array<Record<string, unknown>>> = [];
    async upload(_stream: string, body: Buffer): Promise<void> {
      this.requests.push(JSON.parse(body.toString('utf8')) as Array<Record<string, unknown>>);
    }
  }
  const at = (minutes: number) => new Date(Date.UTC(2026, 11, 1, 0, 0) + minutes * 60_000).toISOString();
  /** A row as lib/records/row.ts writes it: TimeGenerated first. */
  const timed = (id: number, minutes: number, pad = 100): TestRow => ({
    id,
    bytes: Buffer.from(JSON.stringify({ TimeGenerated: at(minutes), id, pad: 'x'.repeat(pad) })),
  });
  const span = (request: Array<Record<string, unknown>>) => {
    const times = request.map((r) => Date.parse(String(r.TimeGenerated)));
    return Math.max(...times) - Math.min(...times);
  };

  it('sends each request within 30 minutes of TimeGenerated, rows interleaved across windows, none lost', async () => {
    const sink = new RecordingSink();
    const outbox = new LogsOutbox<TestRow>(sink, STREAM, { auxiliary: true });
    // Backfilled and live rows mixed: 600 rows over 5 hours, in no order.
    const list = Array.from({ length: 600 }, (_, i) => timed(i, (i * 37) % 300));
    for (const r of list) await outbox.add(r);
    expect(await outbox.close()).toEqual({ rejected: [], failed: [] });
    expect(
      sink.requests
        .flat()
        .map((r) => r.id as number)
        .sort((a, b) => a - b),
    ).toEqual(ids(list));
    for (const request of sink.requests) expect(span(request)).toBeLessThan(AUXILIARY_WINDOW_MS);
    expect(sink.requests).toHaveLength(10); // ten 30-minute windows, each under 1 MB
  });

  it('keeps a window under 1 MB a request, and sends the fullest when 4 MB wait', async () => {
    const sink = new RecordingSink();
    const outbox = new LogsOutbox<TestRow>(sink, STREAM, { auxiliary: true });
    // 40 windows of rows one after the other, then 3 MB in one window.
    for (let w = 0; w < 40; w++) await outbox.add(timed(w, w * 30));
    for (let i = 0; i < 300; i++) await outbox.add(timed(1000 + i, 5, 10_000));
    await outbox.close();
    for (const request of sink.requests) {
      expect(span(request)).toBeLessThan(AUXILIARY_WINDOW_MS);
      expect(Buffer.byteLength(JSON.stringify(request))).toBeLessThan(MAX_REQUEST_BYTES);
    }
    expect(sink.requests.flat()).toHaveLength(340);
  });

  it('writes TimeGenerated with 6 decimal places, the rest of the row untouched', async () => {
    const sink = new RecordingSink();
    const outbox = new LogsOutbox<TestRow>(sink, STREAM, { auxiliary: true });
    const texts = [
      '2026-12-01T00:00:00Z',
      '2026-12-01T00:00:00.5Z',
      '2026-12-01T00:00:00.1234567Z',
      '2026-12-01T00:00:00.123456Z',
    ];
    for (const [id, TimeGenerated] of texts.entries())
      await outbox.add({
        id,
        bytes: Buffer.from(JSON.stringify({ TimeGenerated, id, Properties: { a: 'é' } })),
      });
    await outbox.close();
    expect(sink.requests.flat()).toEqual([
      { TimeGenerated: '2026-12-01T00:00:00.000000Z', id: 0, Properties: { a: 'é' } },
      { TimeGenerated: '2026-12-01T00:00:00.500000Z', id: 1, Properties: { a: 'é' } },
      { TimeGenerated: '2026-12-01T00:00:00.123456Z', id: 2, Properties: { a: 'é' } },
      { TimeGenerated: '2026-12-01T00:00:00.123456Z', id: 3, Properties: { a: 'é' } },
    ]);
  });

  it('without the Auxiliary plan, sends rows of any times together, as before', async () => {
    const sink = new RecordingSink();
    const outbox = new LogsOutbox<TestRow>(sink, STREAM);
    for (let i = 0; i < 100; i++) await outbox.add(timed(i, i * 60));
    await outbox.close();
    expect(sink.requests).toHaveLength(1);
  });
});
