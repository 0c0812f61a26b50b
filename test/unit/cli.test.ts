import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { readBodies, type Body } from '../../lib/cli/input';
import type { LogsRow } from '../../lib/records/row';
import { cli, ndjson } from '../helpers/cli';
import { alertWithEntities } from '../helpers/events';
import { eventsOf, SAMPLES_DIR, sampleNames, sampleText } from '../helpers/samples';

const samplePaths = sampleNames().map((name) => join(SAMPLES_DIR, name));

const inputEvents = () => eventsOf(sampleNames().map(sampleText));

describe('defender-export normalize', () => {
  it('prints at least one row per event of every sample, each at most 32,768 bytes', async () => {
    const { code, stdout, stderr } = await cli(['normalize', ...samplePaths]);
    expect(code).toBe(0);
    const rows = ndjson<LogsRow>(stdout);
    expect(new Set(rows.map((r) => r.EventKey)).size).toBe(inputEvents().length);
    for (const line of stdout.trim().split('\n')) expect(Buffer.byteLength(line)).toBeLessThanOrEqual(32_768);
    expect(stderr).toMatch(
      /^normalized 21 events from 21 messages into 21 rows \(0 split into 0 parts, 0 trimmed\); 0 dead-lettered$/m,
    );
  });

  it('reads NDJSON from stdin and splits an oversized alert; reassemble gives back exactly the input', async () => {
    const alert = JSON.stringify(alertWithEntities(400));
    const small = sampleText('securescorecontrol-eventhub-example-1.json').trim();
    const normalized = await cli(
      ['normalize', '--strategy', 'split', '--limit', '32768'],
      `${alert}\n${small}\n`,
    );
    expect(normalized.code).toBe(0);
    const rows = ndjson<LogsRow>(normalized.stdout);
    expect(rows.length).toBeGreaterThan(2);
    expect(rows[0]!.ArchiveBlob).toMatch(/^alert\/y=\d{4}\/m=\d\d\/d=\d\d\/h=\d\d\/cli-p0-0-1\.ndjson\.gz$/);
    const back = await cli(['reassemble'], normalized.stdout);
    expect(back.code).toBe(0);
    expect(back.stdout).toBe(`${alert}\n${JSON.stringify(JSON.parse(small))}\n`);
  });

  it('trims instead when asked, and says so in the summary', async () => {
    const { code, stdout, stderr } = await cli(
      ['normalize', '--strategy', 'trim'],
      JSON.stringify(alertWithEntities(400)),
    );
    expect(code).toBe(0);
    expect(ndjson<LogsRow>(stdout)).toMatchObject([{ Trimmed: true, PartCount: 1 }]);
    expect(stderr).toMatch(/1 trimmed/);
  });

  it('takes its defaults from RECORD_SIZE_LIMIT_BYTES and OVERSIZE_STRATEGY', async () => {
    const { stdout } = await cli(['normalize'], JSON.stringify(alertWithEntities(40)), {
      RECORD_SIZE_LIMIT_BYTES: '4096',
      OVERSIZE_STRATEGY: 'trim',
    });
    const rows = ndjson<LogsRow>(stdout);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.Trimmed).toBe(true);
    expect(Buffer.byteLength(stdout.trim())).toBeLessThanOrEqual(4096);
  });

  it('dead-letters bad lines with where and why, delivers the rest, and exits 1', async () => {
    const good = sampleText('regulatorycompliance-eventhub-example-1.json').trim();
    const { code, stdout, stderr } = await cli(['normalize'], `${good}\n{"broken":\n[]\n${good}\n`);
    expect(code).toBe(1);
    expect(ndjson(stdout)).toHaveLength(2);
    expect(stderr).toMatch(/^dead-lettered stdin:2: body is not valid JSON: /m);
    expect(stderr).toMatch(/^dead-lettered stdin:3: envelope holds no events \(empty array\)$/m);
    expect(stderr).toMatch(/2 dead-lettered$/m);
  });

  it('reads a pretty-printed JSON file as one document', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'defender-export-'));
    const file = join(dir, 'pretty.json');
    writeFileSync(
      file,
      JSON.stringify(
        { records: [JSON.parse(sampleText('mde-streaming-record-deviceinfo-example-1.json'))] },
        null,
        2,
      ),
    );
    const { code, stdout } = await cli(['normalize', file]);
    expect(code).toBe(0);
    expect(ndjson<LogsRow>(stdout)).toMatchObject([{ DataType: 'XdrEvent', Category: 'DeviceInfo' }]);
  });

  it('exits 2 naming the setting when the configuration is invalid', async () => {
    const { code, stderr } = await cli(['normalize'], '{}', {
      RECORD_SIZE_LIMIT_BYTES: '100',
      OVERSIZE_STRATEGY: 'drop',
    });
    expect(code).toBe(2);
    expect(stderr).toMatch(/RECORD_SIZE_LIMIT_BYTES: Too small/);
    expect(stderr).toMatch(/OVERSIZE_STRATEGY: /);
  });

  it('exits 2 on a bad option or a missing file', async () => {
    expect((await cli(['normalize', '--limit', '12'])).code).toBe(2);
    expect((await cli(['normalize', '--strategy', 'drop'])).code).toBe(2);
    const missing = await cli(['normalize', '/nonexistent/input.ndjson']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/ENOENT/);
  });
});

describe('defender-export reassemble', () => {
  it('accepts a JSON array of rows whose dynamic columns came back as text, as Log Analytics exports them', async () => {
    const alert = alertWithEntities(200);
    const { stdout } = await cli(['normalize', '--limit', '8192'], JSON.stringify(alert));
    const exported = ndjson<LogsRow>(stdout).map((row) => ({
      ...row,
      PartIndex: String(row.PartIndex),
      Properties: JSON.stringify(row.Properties),
    }));
    const back = await cli(['reassemble'], JSON.stringify(exported.reverse()));
    expect(back.code).toBe(0);
    expect(ndjson(back.stdout)).toEqual([alert]);
  });

  it('reports an event whose parts are missing and exits 1', async () => {
    const { stdout } = await cli(['normalize', '--limit', '8192'], JSON.stringify(alertWithEntities(200)));
    const rows = stdout.trim().split('\n');
    const back = await cli(['reassemble'], rows.slice(1).join('\n'));
    expect(back.code).toBe(1);
    expect(back.stderr).toMatch(/only \d+ of \d+ parts were given/);
  });
});

describe('the installed bin', () => {
  const bin = resolve(__dirname, '../../dist/lib/cli/main.js');
  const exec = promisify(execFile);

  it('pipes normalize --strategy split into reassemble and gets the sample events back exactly', async () => {
    const normalized = await exec(
      process.execPath,
      [bin, 'normalize', '--strategy', 'split', '--limit', '2048', ...samplePaths],
      {
        maxBuffer: 64 << 20,
      },
    );
    expect(ndjson<LogsRow>(normalized.stdout).some((row) => row.PartCount > 1)).toBe(true);
    const child = execFile(process.execPath, [bin, 'reassemble'], { maxBuffer: 64 << 20 });
    const output = new Promise<string>((resolvePromise, reject) => {
      let text = '';
      child.stdout!.on('data', (chunk: string) => (text += chunk));
      child.on('close', (code) =>
        code === 0 ? resolvePromise(text) : reject(new Error(`reassemble exited ${code}`)),
      );
    });
    child.stdin!.end(normalized.stdout);
    expect((await output).trim().split('\n')).toEqual(inputEvents());
  });
});

describe('reading input', () => {
  it('reads lines however the input is cut into chunks: a long line, a character split across chunks, CRLF, no final newline', async () => {
    const long = `{"a":"${'é'.repeat(200_000)}"}`;
    const bytes = Buffer.from(`${long}\r\n{"b":1}\n\n{"c":"\u{1F600}"}`);
    for (const size of [1, 7, 65_536]) {
      const chunks: Buffer[] = [];
      for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, at + size));
      const bodies: Body[] = [];
      for await (const body of readBodies(Readable.from(chunks), 'in')) bodies.push(body);
      expect(bodies.map((b) => [b.text, b.where, b.bytes])).toEqual([
        [long, 'in:1', undefined],
        ['{"b":1}', 'in:2', undefined],
        ['{"c":"\u{1F600}"}', 'in:4', undefined],
      ]);
    }
  });

  it('takes each line of NDJSON as its own body, even when the first line is broken', async () => {
    const good = sampleText('regulatorycompliance-eventhub-example-1.json').trim();
    const { code, stdout, stderr } = await cli(['normalize'], `{"broken": \n${good}\n`);
    expect(code).toBe(1);
    expect(ndjson(stdout)).toHaveLength(1);
    expect(stderr).toMatch(/^dead-lettered stdin:1: body is not valid JSON/m);
  });
});
