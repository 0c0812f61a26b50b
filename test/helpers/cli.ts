import { PassThrough, Readable } from 'node:stream';
import { run } from '../../lib/cli/program';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Terminal {
  /** Make stdout look like a terminal (isTTY), as colours and indented JSON need. */
  stdoutTTY?: boolean;
  /** Make stderr look like a terminal, as progress needs. */
  stderrTTY?: boolean;
  /** How long the command works before progress shows (the real default is a second). */
  progressDelayMs?: number;
  /** stdin as these chunks, each handed over after `chunkDelayMs` (a slow pipe), instead of `stdin`. */
  chunks?: readonly string[];
  chunkDelayMs?: number;
}

const terminal = (stream: PassThrough, tty: boolean | undefined) =>
  tty ? Object.assign(stream, { isTTY: true, columns: 160 }) : stream;

async function* slowly(chunks: readonly string[], delayMs: number): AsyncGenerator<string> {
  for (const chunk of chunks) {
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    yield chunk;
  }
}

/**
 * Runs the command line in-process, with `stdin` as its input and an empty environment unless given; `clock`
 * pins what the command takes for now; `tty` makes stdout or stderr look like a terminal.
 */
export async function cli(
  argv: string[],
  stdin = '',
  env: NodeJS.ProcessEnv = {},
  clock?: () => Date,
  tty: Terminal = {},
): Promise<CliResult> {
  const stdout = terminal(new PassThrough(), tty.stdoutTTY);
  const stderr = terminal(new PassThrough(), tty.stderrTTY);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk));
  stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const code = await run(argv, {
    stdin: tty.chunks ? Readable.from(slowly(tty.chunks, tty.chunkDelayMs ?? 0)) : Readable.from([stdin]),
    stdout,
    stderr,
    env,
    ...(clock ? { clock } : {}),
    ...(tty.progressDelayMs !== undefined ? { progressDelayMs: tty.progressDelayMs } : {}),
  });
  return { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}

export function ndjson<T = Record<string, unknown>>(text: string): T[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as T);
}
