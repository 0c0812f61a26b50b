import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { loadConfig, loadCoverageConfig, loadDeliveryConfig } from '../config';
import { buildCoverageDependencies } from '../coverage/dependencies';
import { buildDependencies } from '../dependencies';
import { ConfigError } from '../errors';
import { MAX_RECORD_LIMIT, MIN_RECORD_LIMIT, OVERSIZE_STRATEGIES } from '../fit/fit';
import { coverageCommand } from './coverageCommand';
import { EXIT, type Io } from './io';
import { normalizeCommand, normalizeDefaults } from './normalizeCommand';
import { reassembleCommand } from './reassembleCommand';
import { replayCommand } from './replayCommand';

function byteLimit(value: string): number {
  const limit = Number(value);
  if (!Number.isInteger(limit) || limit < MIN_RECORD_LIMIT || limit > MAX_RECORD_LIMIT) {
    throw new InvalidArgumentError(
      `must be a whole number of bytes from ${MIN_RECORD_LIMIT} to ${MAX_RECORD_LIMIT}`,
    );
  }
  return limit;
}

function positive(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1)
    throw new InvalidArgumentError('must be a whole number, 1 or more');
  return number;
}

function isoTime(value: string): string {
  const time = new Date(value);
  if (Number.isNaN(time.getTime())) throw new InvalidArgumentError('must be an ISO 8601 time');
  return time.toISOString();
}

interface BatchFlags {
  source?: string;
  enqueuedTime?: string;
  batchSize: number;
  partitions: number;
}

/** Options normalize and replay share: the batches they cut the input into, as the trigger would. */
function withBatching(command: Command): Command {
  return command
    .option(
      '--source <hub>',
      'the Event Hub name the input stands for; it names archive blobs (default: cli)',
    )
    .option('--enqueued-time <time>', 'treat the input as enqueued at this time (default: now)', isoTime)
    .option('--batch-size <n>', 'messages per batch, as maxEventBatchSize', positive, 100)
    .option('--partitions <n>', 'partitions to deal batches to (replay runs them side by side)', positive, 1);
}

function batching(flags: BatchFlags, clock: () => Date) {
  return {
    source: flags.source ?? 'cli',
    enqueuedTime: flags.enqueuedTime ?? clock().toISOString(),
    batchSize: flags.batchSize,
    partitions: flags.partitions,
  };
}

/** Runs the `defender-export` command line against `io`; resolves to the exit code. */
export async function run(argv: readonly string[], io: Io): Promise<number> {
  let exitCode: number = EXIT.ok;
  const clock = io.clock ?? (() => new Date());
  const program = new Command('defender-export')
    .description('Microsoft Defender continuous export: normalise, fit and deliver without losing a record')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    });

  withBatching(
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
      ),
  ).action(async (files: string[], flags: BatchFlags & { strategy?: 'split' | 'trim'; limit?: number }) => {
    const defaults = normalizeDefaults(loadConfig(io.env, { delivery: false }));
    exitCode = await normalizeCommand(
      files,
      {
        strategy: flags.strategy ?? defaults.strategy,
        limit: flags.limit ?? defaults.limit,
        ...batching(flags, clock),
      },
      io,
    );
  });

  program
    .command('reassemble')
    .description(
      'logs rows in (NDJSON, or a JSON array exported from Log Analytics), the original events out',
    )
    .argument('[files...]', 'input files; none or - reads stdin')
    .action(async (files: string[]) => {
      exitCode = await reassembleCommand(files, io);
    });

  withBatching(
    program
      .command('replay')
      .description(
        'run files through the Event Hub function against the configured sinks (settings from the environment)',
      )
      .argument('[files...]', 'input files; none or - reads stdin')
      .option('--json', 'print the ledger as JSON on the last line of stdout'),
  ).action(async (files: string[], flags: BatchFlags & { json?: boolean }) => {
    const deps = await buildDependencies(loadDeliveryConfig(io.env), { clock });
    exitCode = await replayCommand(files, { ...batching(flags, clock), json: flags.json === true }, io, deps);
  });

  program
    .command('coverage')
    .description('reconcile continuous-export coverage of every subscription now; exit 1 when a gap is found')
    .option('--json', 'print the report as JSON instead of a table')
    .option('--html <file>', 'also write the report as an HTML page')
    .option('--remediate', 'create or fix the exports of subscriptions with a gap (also COVERAGE_REMEDIATE)')
    .option('--dry-run', 'print exactly what remediation would change, and change nothing')
    .option('--adopt', 'let remediation rewrite an automation of the same name it did not create')
    .action(
      async (flags: {
        json?: boolean;
        html?: string;
        remediate?: boolean;
        dryRun?: boolean;
        adopt?: boolean;
      }) => {
        const config = loadCoverageConfig(io.env);
        const remediate = flags.remediate === true || flags.dryRun === true || config.COVERAGE_REMEDIATE;
        if (
          remediate &&
          (!config.COVERAGE_REMEDIATION_RESOURCE_GROUP || !config.COVERAGE_REMEDIATION_LOCATION)
        ) {
          throw new ConfigError(
            ['COVERAGE_REMEDIATION_RESOURCE_GROUP', 'COVERAGE_REMEDIATION_LOCATION']
              .filter((name) => !config[name as 'COVERAGE_REMEDIATION_LOCATION'])
              .map((name) => `${name}: is required to remediate`),
          );
        }
        const deps = await buildCoverageDependencies(config, { clock });
        if (flags.adopt && deps.remediation) deps.remediation.adopt = true;
        exitCode = await coverageCommand(
          {
            json: flags.json === true,
            ...(flags.html ? { html: flags.html } : {}),
            remediate,
            dryRun: flags.dryRun === true,
          },
          io,
          deps,
        );
      },
    );

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
