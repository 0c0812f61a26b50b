import { isUtf8 } from 'node:buffer';
import { accessSync, constants, createReadStream, statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { ActionableError } from '../errors';
import type { InputMeter } from './progress';

export interface Body {
  /** The text of one Event Hub message body (or one row, for reassemble). */
  text: string;
  /** The line's bytes when they are not valid UTF-8: sent as they are, so the pipeline dead-letters them
   * with the offset of the first bad byte instead of a decoder silently replacing it. */
  bytes?: Buffer;
  /** `file:line` (or just `file` for a whole-file document), for messages about it. */
  where: string;
}

/** How a pretty-printed JSON document begins: a line holding only its opening bracket. */
const OPENS_DOCUMENT = /^\s*[[{]\s*$/;

/**
 * Reads bodies from a file or stdin. When the first non-blank line holds only `{` or `[`, the whole input
 * is one JSON document (a pretty-printed file); otherwise it is NDJSON, one body per line, so one broken
 * line is one dead letter and its neighbours still go through. NDJSON is streamed, never held whole.
 */
export async function* readBodies(input: Readable, name: string, meter?: InputMeter): AsyncGenerator<Body> {
  let mode: 'undecided' | 'lines' | 'document' = 'undecided';
  const document: string[] = [];
  const documentBytes: Buffer[] = [];
  let documentValid = true;
  let number = 0;
  for await (const bytes of lines(input, meter)) {
    number++;
    const valid = isUtf8(bytes);
    const decoded = bytes.toString('utf8');
    const raw = decoded.endsWith('\r') ? decoded.slice(0, -1) : decoded;
    const line = number === 1 && raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
    if (mode === 'document') {
      document.push(line);
      documentBytes.push(bytes);
      documentValid &&= valid;
      continue;
    }
    if (mode === 'undecided') {
      if (line.trim() === '') continue;
      if (OPENS_DOCUMENT.test(line)) {
        mode = 'document';
        document.push(line);
        documentBytes.push(bytes);
        documentValid &&= valid;
        continue;
      }
      mode = 'lines';
    }
    if (line.trim() !== '') yield { text: line, where: `${name}:${number}`, ...(valid ? {} : { bytes }) };
  }
  if (mode === 'document') {
    const text = document.join('\n');
    yield documentValid
      ? { text, where: name }
      : { text, where: name, bytes: Buffer.concat(documentBytes.flatMap((b) => [b, NEWLINE])) };
  }
}

const NEWLINE = Buffer.from('\n');

/**
 * The input's lines as bytes, without their newline (decoding waits until a line is whole). Each chunk is
 * searched once and a long line's pieces are joined once, at its end: linear in the input, however long
 * the line.
 */
async function* lines(input: Readable, meter?: InputMeter): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  for await (const chunk of input as AsyncIterable<Buffer | string>) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    if (meter) meter.bytes += buffer.length;
    let start = 0;
    for (let end = buffer.indexOf(0x0a); end !== -1; end = buffer.indexOf(0x0a, start)) {
      const tail = buffer.subarray(start, end);
      yield pending.length === 0 ? tail : Buffer.concat([...pending, tail]);
      pending = [];
      start = end + 1;
    }
    if (start < buffer.length) pending.push(buffer.subarray(start));
  }
  if (pending.length > 0) yield Buffer.concat(pending);
}

const WHY: Record<string, string> = {
  ENOENT: 'no such file',
  EISDIR: 'it is a directory',
  ENOTDIR: 'a part of the path is not a directory',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
};

/** An input file that cannot be read, said as what to do about it (exit 2, not a bug). */
export function unreadable(file: string, error: NodeJS.ErrnoException): ActionableError {
  const code = error.code ?? 'EIO';
  const hint =
    code === 'EISDIR'
      ? `Give the files in it instead, e.g. ${file.replace(/\/+$/, '')}/*.ndjson.`
      : code === 'EACCES' || code === 'EPERM'
        ? "Check the file's permissions."
        : 'Check the path; give - (or no file at all) to read stdin.';
  return new ActionableError(`cannot read ${file}: ${WHY[code] ?? error.message} (${code})`, hint, {
    cause: error,
  });
}

/**
 * Checks that every input file can be read before anything is done with the first, and gives their total
 * size in bytes, or undefined when stdin is among them (its size is not known). Throws ActionableError.
 */
export function inputFiles(files: readonly string[]): { totalBytes: number | undefined } {
  let total: number | undefined = files.length === 0 ? undefined : 0;
  for (const file of files) {
    if (file === '-') {
      total = undefined;
      continue;
    }
    try {
      const stat = statSync(file);
      if (stat.isDirectory()) throw Object.assign(new Error(`EISDIR: ${file}`), { code: 'EISDIR' });
      accessSync(file, constants.R_OK);
      if (total !== undefined) total += stat.size;
    } catch (error) {
      throw unreadable(file, error as NodeJS.ErrnoException);
    }
  }
  return { totalBytes: total };
}

/** Every body of every file in order; `-` or no files at all means stdin. `meter` counts the bytes read. */
export async function* readAll(
  files: readonly string[],
  stdin: Readable,
  meter?: InputMeter,
): AsyncGenerator<Body> {
  if (files.length === 0) {
    yield* readBodies(stdin, 'stdin', meter);
    return;
  }
  for (const file of files) {
    if (file === '-') {
      yield* readBodies(stdin, 'stdin', meter);
      continue;
    }
    // Checked up front (inputFiles), but a file can go away or be unreadable since: still no stack trace.
    const stream = createReadStream(file);
    const opened = new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', reject);
    });
    try {
      await opened;
    } catch (error) {
      throw unreadable(file, error as NodeJS.ErrnoException);
    }
    try {
      yield* readBodies(stream, file, meter);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code && code in WHY) throw unreadable(file, error as NodeJS.ErrnoException);
      throw error;
    }
  }
}
