import { reassemble, ReassemblyError, type PartRow } from '../fit/reassemble';
import { TEXT } from '../fit/partPath';
import { inputFiles, readAll } from './input';
import { EXIT, write, type Io } from './io';
import { RecordWriter, type Query, type RecordFormat } from './output';
import { plural } from './text';

/**
 * Rows exported from Log Analytics may carry dynamic columns as JSON text and numbers or booleans as
 * strings; bring them back to what normalize wrote.
 */
function asPartRow(value: unknown): PartRow | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const row = value as Record<string, unknown>;
  if (typeof row.EventKey !== 'string' || row.EventKey === '') return undefined;
  const partPath = typeof row.PartPath === 'string' ? row.PartPath : '';
  let properties = row.Properties;
  if (typeof properties === 'string' && partPath !== TEXT) {
    try {
      properties = JSON.parse(properties);
    } catch {
      // a string it is
    }
  }
  return {
    EventKey: row.EventKey,
    PartIndex: Number(row.PartIndex ?? 0),
    PartCount: Number(row.PartCount ?? 1),
    PartPath: partPath,
    Trimmed: row.Trimmed === true || row.Trimmed === 'true' || row.Trimmed === 'True',
    ArchiveBlob: typeof row.ArchiveBlob === 'string' ? row.ArchiveBlob : '',
    Properties: properties,
  };
}

/**
 * `defender-export reassemble`: logs rows in (NDJSON, or a JSON array as Log Analytics exports it), the
 * original events out as NDJSON, each as soon as its last part has been read.
 */
export async function reassembleCommand(
  files: readonly string[],
  io: Io,
  output: { format: RecordFormat; query?: Query } = { format: 'json' },
): Promise<number> {
  inputFiles(files);
  const pending = new Map<string, PartRow[]>();
  let problems = 0;
  let events = 0;
  const report = async (message: string) => {
    problems++;
    await write(io.stderr, `${message}\n`);
  };

  const out = new RecordWriter(io.stdout, output);
  for await (const body of readAll(files, io.stdin)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.text);
    } catch (error) {
      await report(`${body.where}: not JSON: ${(error as Error).message}`);
      continue;
    }
    for (const value of Array.isArray(parsed) ? parsed : [parsed]) {
      const row = asPartRow(value);
      if (!row) {
        await report(`${body.where}: not a logs row (no EventKey)`);
        continue;
      }
      const parts = pending.get(row.EventKey) ?? [];
      parts.push(row);
      if (parts.length < row.PartCount) {
        pending.set(row.EventKey, parts);
        continue;
      }
      pending.delete(row.EventKey);
      try {
        await out.record(JSON.stringify(reassemble(parts)));
        events++;
      } catch (error) {
        if (!(error instanceof ReassemblyError)) throw error;
        await report(error.message);
      }
    }
  }
  await out.flush();
  for (const [key, parts] of pending) {
    await report(
      `event ${key}: only ${parts.length} of ${plural(parts[0]!.PartCount, 'part')} ${parts.length === 1 ? 'was' : 'were'} given`,
    );
  }
  await write(io.stderr, `reassembled ${plural(events, 'event')}; ${plural(problems, 'problem')}\n`);
  return problems > 0 ? EXIT.someFailed : EXIT.ok;
}
