import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

export interface Body {
  /** The text of one Event Hub message body (or one row, for reassemble). */
  text: string;
  /** `file:line` (or just `file` for a whole-file document), for messages about it. */
  where: string;
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * Reads bodies from a file or stdin: NDJSON (one body per line) when the first non-blank line is JSON on its
 * own, otherwise the whole input is one JSON document (a pretty-printed file). Lines are streamed, so an
 * NDJSON input of any size is never held in memory at once.
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
      if (!parses(line)) {
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
