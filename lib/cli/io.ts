import type { Readable, Writable } from 'node:stream';

/** The streams and environment a command runs against: process.* in the bin, in-memory streams in tests. */
export interface Io {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  /** What "now" is: staleness, reminders, redrive, default enqueued times. The real clock unless a test pins it. */
  clock?: () => Date;
}

/**
 * 0 done; 1 ran, but something was dead-lettered, parked or could not be put back; 2 usage or configuration
 * error; 70 the ledger does not add up or another internal error (a bug).
 */
export const EXIT = { ok: 0, someFailed: 1, usage: 2, internal: 70 } as const;

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
