import type { Readable, Writable } from 'node:stream';

/** The streams and environment a command runs against: process.* in the bin, in-memory streams in tests. */
export interface Io {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  /** What "now" is: staleness, reminders, redrive, default enqueued times. The real clock unless a test pins it. */
  clock?: () => Date;
  /** How long a command works before its progress shows on a terminal (1 s: quick runs never flicker). */
  progressDelayMs?: number;
}

/**
 * The exit codes, the only ones the command line uses:
 * - `ok` 0: done, and everything went where it should.
 * - `someFailed` 1: it ran, but something failed: an event dead-lettered or parked, a row that could not be
 *   reassembled, a coverage gap.
 * - `usage` 2: it could not start, or stopped, for something the user can fix: a bad option or argument, an
 *   invalid `--query`, an invalid or missing setting, an input file that cannot be read (missing, a
 *   directory), missing credentials or an endpoint that cannot be reached (an ActionableError).
 * - `internal` 70 (EX_SOFTWARE): a bug of ours: the ledger does not add up, or an error nobody foresaw. Only
 *   these print a stack.
 */
export const EXIT = { ok: 0, someFailed: 1, usage: 2, internal: 70 } as const;

/** Whether a stream is a terminal (a person is watching): colours and progress only then. */
export function isTTY(stream: unknown): boolean {
  return (stream as { isTTY?: boolean }).isTTY === true;
}

/** Writes text, waiting when the stream asks us to slow down (stdout piped into a slower reader). */
export async function write(stream: Writable, text: string | Buffer): Promise<void> {
  if (!stream.write(text)) {
    await new Promise<void>((resolve, reject) => {
      const done = () => {
        stream.off('error', fail);
        resolve();
      };
      const fail = (error: Error) => {
        stream.off('drain', done);
        reject(error);
      };
      stream.once('drain', done);
      stream.once('error', fail);
    });
  }
}

/** Collects output lines and writes them in chunks of about a megabyte: one write per line is slow. */
export class ChunkedWriter {
  private pending: Buffer[] = [];
  private bytes = 0;
  constructor(private readonly stream: Writable) {}

  async line(text: string | Buffer): Promise<void> {
    const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
    this.pending.push(bytes, NEWLINE);
    this.bytes += bytes.length + 1;
    if (this.bytes >= 1 << 20) await this.flush();
  }

  async flush(): Promise<void> {
    const chunk = Buffer.concat(this.pending, this.bytes);
    this.pending = [];
    this.bytes = 0;
    if (chunk.length > 0) await write(this.stream, chunk);
  }
}
const NEWLINE = Buffer.from('\n');
