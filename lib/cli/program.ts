import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { loadConfig } from '../config';
import { ConfigError } from '../errors';
import { MAX_RECORD_LIMIT, MIN_RECORD_LIMIT, OVERSIZE_STRATEGIES } from '../fit/fit';
import { EXIT, type Io } from './io';
import { normalizeCommand, normalizeDefaults } from './normalizeCommand';
import { reassembleCommand } from './reassembleCommand';

function byteLimit(value: string): number {
  const limit = Number(value);
  if (!Number.isInteger(limit) || limit < MIN_RECORD_LIMIT || limit > MAX_RECORD_LIMIT) {
    throw new InvalidArgumentError(
      `must be a whole number of bytes from ${MIN_RECORD_LIMIT} to ${MAX_RECORD_LIMIT}`,
    );
  }
  return limit;
}

function isoTime(value: string): string {
  const time = new Date(value);
  if (Number.isNaN(time.getTime())) throw new InvalidArgumentError('must be an ISO 8601 time');
  return time.toISOString();
}

/** Runs the `defender-export` command line against `io`; resolves to the exit code. */
export async function run(argv: readonly string[], io: Io): Promise<number> {
  let exitCode: number = EXIT.ok;
  const program = new Command('defender-export')
    .description('Microsoft Defender continuous export: normalise, fit and deliver without losing a record')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    });

  program
    .command('normalize')
    .description(
      'Event Hub message bodies in (NDJSON or JSON files, or stdin), fitted logs rows out as NDJSON',
    )
    .argument('[files...]', 'input files; none or - reads stdin')
    .addOption(
      new Option(
        '--strategy <strategy>',
        'oversize strategy (default: OVERSIZE_STRATEGY, else split)',
      ).choices(OVERSIZE_STRATEGIES),
    )
    .option(
      '--limit <bytes>',
      'record limit in bytes (default: RECORD_SIZE_LIMIT_BYTES, else 32768)',
      byteLimit,
    )
    .option('--enqueued-time <time>', 'the time to treat the input as enqueued (default: now)', isoTime)
    .action(
      async (
        files: string[],
        options: { strategy?: 'split' | 'trim'; limit?: number; enqueuedTime?: string },
      ) => {
        const defaults = normalizeDefaults(loadConfig(io.env, { delivery: false }));
        exitCode = await normalizeCommand(
          files,
          {
            strategy: options.strategy ?? defaults.strategy,
            limit: options.limit ?? defaults.limit,
            enqueuedTime: options.enqueuedTime ?? new Date().toISOString(),
          },
          io,
        );
      },
    );

  program
    .command('reassemble')
    .description(
      'logs rows in (NDJSON, or a JSON array exported from Log Analytics), the original events out',
    )
    .argument('[files...]', 'input files; none or - reads stdin')
    .action(async (files: string[]) => {
      exitCode = await reassembleCommand(files, io);
    });

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof ConfigError) {
      io.stderr.write(`defender-export: ${error.message}\n`);
      return EXIT.usage;
    }
    if (error instanceof Error && 'code' in error && error.code === 'ENOENT') {
      io.stderr.write(`defender-export: ${error.message}\n`);
      return EXIT.usage;
    }
    throw error;
  }
}
