import { PassThrough, Readable } from 'node:stream';
import { run } from '../../lib/cli/program';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the command line in-process, with `stdin` as its input and an empty environment unless given; `clock`
 * pins what the command takes for now.
 */
export async function cli(
  argv: string[],
  stdin = '',
  env: NodeJS.ProcessEnv = {},
  clock?: () => Date,
): Promise<CliResult> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk));
  stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const code = await run(argv, {
    stdin: Readable.from([stdin]),
    stdout,
    stderr,
    env,
    ...(clock ? { clock } : {}),
  });
  return { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}

export function ndjson<T = Record<string, unknown>>(text: string): T[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as T);
}
