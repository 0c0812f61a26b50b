import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

export interface Body {
  /** The text of one Event Hub message body (or one row, for reassemble). */
  text: string;
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
export async function* readBodies(input: Readable, name: string): AsyncGenerator<Body> {
  const lines = createInterface({ input, crlfDelay: Infinity });
  let mode: 'undecided' | 'lines' | 'document' = 'undecided';
  const document: string[] = [];
  let number = 0;
  for await (const raw of lines) {
    number++;
    const line = number === 1 && raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
    if (mode === 'document') {
      document.push(line);
      continue;
    }
    if (mode === 'undecided') {
      if (line.trim() === '') continue;
      if (OPENS_DOCUMENT.test(line)) {
        mode = 'document';
        document.push(line);
        continue;
      }
      mode = 'lines';
    }
    if (line.trim() !== '') yield { text: line, where: `${name}:${number}` };
  }
  if (mode === 'document') yield { text: document.join('\n'), where: name };
}

/** Every body of every file in order; `-` or no files at all means stdin. */
export async function* readAll(files: readonly string[], stdin: Readable): AsyncGenerator<Body> {
  if (files.length === 0) {
    yield* readBodies(stdin, 'stdin');
    return;
  }
  for (const file of files) {
    yield* file === '-' ? readBodies(stdin, 'stdin') : readBodies(createReadStream(file), file);
  }
}
