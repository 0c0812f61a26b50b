import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { GUID, loadConfig, loadCoverageConfig, loadDeliveryConfig } from '../config';
import { buildCoverageDependencies } from '../coverage/dependencies';
import { buildDependencies } from '../dependencies';
import { ConfigError } from '../errors';
import { MAX_RECORD_LIMIT, MIN_RECORD_LIMIT, OVERSIZE_STRATEGIES } from '../fit/fit';
import { AzureClients } from '../azure/clients';
import { ResourceReader } from '../azure/resources';
import { readAppSettings, readLocalSettings, type SettingsSource } from '../doctor/settingsSource';
import { backfillSubscriptions, buildBackfillDependencies } from '../backfill/dependencies';
import { BACKFILL_DATA_TYPES, type BackfillDataType } from '../backfill/mapping';
import { backfillCommand } from './backfillCommand';
import { checkWritable, coverageCommand } from './coverageCommand';
import { doctorCommand } from './doctorCommand';
import { describeFailure, errorText } from './failure';
import { helpText, HELP, PROGRAM_HELP } from './help';
import { inputFiles } from './input';
import { EXIT, write, type Io } from './io';
import { normalizeCommand, normalizeDefaults } from './normalizeCommand';
import {
  compileQuery,
  OUTPUT_FORMATS,
  QuerySyntaxError,
  RECORD_FORMATS,
  type OutputFormat,
  type Query,
  type RecordFormat,
} from './output';
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

function subscriptionList(value: string): string[] {
  const ids = value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
  if (ids.length === 0 || ids.some((id) => !GUID.test(id)))
    throw new InvalidArgumentError('must be subscription ids (GUIDs), comma separated');
  return ids;
}

function dataTypeList(value: string): BackfillDataType[] {
  const types = value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
  const known = new Map(BACKFILL_DATA_TYPES.map((t) => [t.toLowerCase(), t]));
  const unknown = types.filter((t) => !known.has(t.toLowerCase()));
  if (types.length === 0 || unknown.length > 0)
    throw new InvalidArgumentError(`must be among ${BACKFILL_DATA_TYPES.join(', ')}, comma separated`);
  return [...new Set(types.map((t) => known.get(t.toLowerCase())!))];
}

function objectId(value: string): string {
  if (!GUID.test(value.trim())) throw new InvalidArgumentError('must be an object id (a GUID)');
  return value.trim();
}

function query(value: string): Query {
  try {
    return compileQuery(value);
  } catch (error) {
    if (error instanceof QuerySyntaxError)
      throw new InvalidArgumentError(`not a JMESPath query: ${error.message}`);
    throw error;
  }
}

/** The version in package.json, found from here both as TypeScript (tests) and as compiled JavaScript. */
function packageVersion(): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'defender-export' && pkg.version) return pkg.version;
    } catch {
      // not here: look further up
    }
    if (dirname(dir) === dir) return 'unknown';
  }
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

interface OutputFlags {
  output?: string;
  json?: boolean;
  query?: Query;
}

/**
 * -o/--output, --json and --query, as `az` has them. `formats` are those the command offers; `why` says
 * why one of OUTPUT_FORMATS is not among them.
 */
function withOutput(
  command: Command,
  settings: { formats: readonly string[]; what: string; defaultText: string; why?: string },
): Command {
  const format = (value: string) => {
    if (settings.formats.includes(value)) return value;
    throw new InvalidArgumentError(
      (OUTPUT_FORMATS as readonly string[]).includes(value) && settings.why
        ? `${settings.why}: use ${settings.formats.join(', ')}`
        : `must be one of ${settings.formats.join(', ')}`,
    );
  };
  return command
    .addOption(
      new Option(
        '-o, --output <format>',
        `${settings.what}: ${settings.formats.join(', ')} (default: ${settings.defaultText})`,
      ).argParser(format),
    )
    .addOption(new Option('--json', 'the same as -o json').conflicts('output'))
    .option(
      '--query <jmespath>',
      'a JMESPath query applied to the JSON before it is printed, as az --query does',
      query,
    );
}

function outputOf<F extends string>(flags: OutputFlags, fallback: F): { format: F; query?: Query } {
  const format = (flags.json ? 'json' : (flags.output ?? fallback)) as F;
  return { format, ...(flags.query ? { query: flags.query } : {}) };
}

/** Whether the SDKs reach Azure through an HTTPS proxy (they read HTTPS_PROXY, as curl does). */
const behindProxy = (env: NodeJS.ProcessEnv) => Boolean(env.HTTPS_PROXY?.trim() || env.https_proxy?.trim());

/** Runs the `defender-export` command line against `io`; resolves to the exit code. */
export async function run(argv: readonly string[], io: Io): Promise<number> {
  let exitCode: number = EXIT.ok;
  const clock = io.clock ?? (() => new Date());
  const program = new Command('defender-export')
    .description('Microsoft Defender continuous export: normalise, fit and deliver without losing a record')
    .version(packageVersion(), '--version', 'print the version')
    .helpOption('-h, --help', 'show this help')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      // Told in the one error style by the catch below.
      outputError: () => undefined,
    })
    .addHelpText('after', PROGRAM_HELP);

  const recordOutput = {
    formats: RECORD_FORMATS,
    defaultText: 'json',
    why: 'records are streamed one a line, never held, so there is no table',
  };

  withOutput(
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
    ),
    { ...recordOutput, what: 'how the rows are printed on stdout' },
  )
    .addHelpText('after', helpText(HELP.normalize))
    .action(
      async (
        files: string[],
        flags: BatchFlags & OutputFlags & { strategy?: 'split' | 'trim'; limit?: number },
      ) => {
        inputFiles(files);
        const defaults = normalizeDefaults(loadConfig(io.env, { delivery: false }));
        exitCode = await normalizeCommand(
          files,
          {
            strategy: flags.strategy ?? defaults.strategy,
            limit: flags.limit ?? defaults.limit,
            ...batching(flags, clock),
            output: outputOf<RecordFormat>(flags, 'json'),
          },
          io,
        );
      },
    );

  withOutput(
    program
      .command('reassemble')
      .description(
        'logs rows in (NDJSON, or a JSON array exported from Log Analytics), the original events out',
      )
      .argument('[files...]', 'input files; none or - reads stdin'),
    { ...recordOutput, what: 'how the events are printed on stdout' },
  )
    .addHelpText('after', helpText(HELP.reassemble))
    .action(async (files: string[], flags: OutputFlags) => {
      exitCode = await reassembleCommand(files, io, outputOf<RecordFormat>(flags, 'json'));
    });

  withOutput(
    withBatching(
      program
        .command('replay')
        .description(
          'run files through the Event Hub function against the configured sinks (settings from the environment)',
        )
        .argument('[files...]', 'input files; none or - reads stdin'),
    ),
    {
      formats: OUTPUT_FORMATS,
      what: 'how the ledger is printed on stdout',
      defaultText: 'none: the ledger is summarised on stderr only',
    },
  )
    .addHelpText('after', helpText(HELP.replay))
    .action(async (files: string[], flags: BatchFlags & OutputFlags) => {
      inputFiles(files);
      // The preflight says what is missing (a host that does not resolve, no credentials) before any work.
      const deps = await buildDependencies(loadDeliveryConfig(io.env), {
        clock,
        preflight: { skipLookup: behindProxy(io.env) },
      });
      exitCode = await replayCommand(
        files,
        { ...batching(flags, clock), output: outputOf<OutputFormat>(flags, 'none') },
        io,
        deps,
      );
    });

  withOutput(
    program
      .command('coverage')
      .description(
        'reconcile continuous-export coverage of every subscription now and report it; exit 1 when a gap is found',
      )
      .option('--html <file>', 'also write the report as an HTML page')
      .option(
        '--record',
        'write the coverage state and history, and send one Coverage row per subscription to Log Analytics, as the timer does',
      )
      .option(
        '--notify',
        'post the alerts to COVERAGE_WEBHOOK_URL, as the timer does; implies --record (the stored state is what tells a new gap from one already alerted)',
      )
      .option('--remediate', 'create or fix the exports of subscriptions with a gap')
      .option('--dry-run', 'print exactly what remediation would change, and change nothing')
      .option('--adopt', 'let remediation rewrite an automation of the same name it did not create'),
    { formats: OUTPUT_FORMATS, what: 'how the report is printed on stdout', defaultText: 'table' },
  )
    .addHelpText('after', helpText(HELP.coverage))
    .action(
      async (
        flags: OutputFlags & {
          html?: string;
          record?: boolean;
          notify?: boolean;
          remediate?: boolean;
          dryRun?: boolean;
          adopt?: boolean;
        },
      ) => {
        const config = loadCoverageConfig(io.env);
        // From the command line only the flags act: COVERAGE_REMEDIATE is the timer's.
        const remediate = flags.remediate === true || flags.dryRun === true;
        const problems: string[] = [];
        if (remediate) {
          for (const name of [
            'COVERAGE_REMEDIATION_RESOURCE_GROUP',
            'COVERAGE_REMEDIATION_LOCATION',
          ] as const) {
            if (!config[name]) problems.push(`${name}: is required by --remediate and --dry-run`);
          }
        }
        if (flags.notify && !config.COVERAGE_WEBHOOK_URL)
          problems.push('COVERAGE_WEBHOOK_URL: is required by --notify');
        if (problems.length > 0) throw new ConfigError(problems);
        if (flags.html) checkWritable(flags.html);
        // A run that sends no Coverage rows needs no logs token.
        const record = flags.record === true || flags.notify === true;
        const deps = await buildCoverageDependencies(config, {
          clock,
          preflight: { rows: record, skipLookup: behindProxy(io.env) },
        });
        if (flags.adopt && deps.remediation) deps.remediation.adopt = true;
        exitCode = await coverageCommand(
          {
            output: outputOf<OutputFormat>(flags, 'table'),
            ...(flags.html ? { html: flags.html } : {}),
            remediate,
            dryRun: flags.dryRun === true,
            record: flags.record === true,
            notify: flags.notify === true,
            notes:
              config.COVERAGE_REMEDIATE && !remediate
                ? [
                    "remediation not run: COVERAGE_REMEDIATE is the timer's setting; --remediate applies it here, --dry-run shows the plan",
                  ]
                : [],
          },
          io,
          deps,
        );
      },
    );

  withOutput(
    program
      .command('backfill')
      .description(
        'the current Defender for Cloud state from Azure Resource Graph, through the same pipeline as the Event Hub functions',
      )
      .option(
        '--subscriptions <ids>',
        'subscription ids, comma separated (default: COVERAGE_SCOPE, else every one visible)',
        subscriptionList,
      )
      .option(
        '--data-types <types>',
        `data types, comma separated: ${BACKFILL_DATA_TYPES.join(', ')} (default: all)`,
        dataTypeList,
      )
      .option(
        '--since <time>',
        'alerts generated since then only (ISO 8601; default: every active alert)',
        isoTime,
      )
      .option('--dry-run', 'count what there is per data type; send and keep nothing')
      .option(
        '--concurrency <n>',
        'data types (and chunks of 1,000 subscriptions) read at once',
        positive,
        4,
      ),
    { formats: OUTPUT_FORMATS, what: 'how the report is printed on stdout', defaultText: 'table' },
  )
    .addHelpText('after', helpText(HELP.backfill))
    .action(
      async (
        flags: OutputFlags & {
          subscriptions?: string[];
          dataTypes?: BackfillDataType[];
          since?: string;
          dryRun?: boolean;
          concurrency: number;
        },
      ) => {
        const config = loadDeliveryConfig(io.env);
        const deps = await buildBackfillDependencies(config, {
          clock,
          concurrency: flags.concurrency,
          preflight: { skipLookup: behindProxy(io.env) },
        });
        const subscriptions = await backfillSubscriptions(config, flags.subscriptions);
        exitCode = await backfillCommand(
          {
            dataTypes: flags.dataTypes ?? [...BACKFILL_DATA_TYPES],
            subscriptions,
            ...(flags.since ? { since: new Date(flags.since) } : {}),
            dryRun: flags.dryRun === true,
            output: outputOf<OutputFormat>(flags, 'table'),
          },
          io,
          deps,
        );
      },
    );

  withOutput(
    program
      .command('doctor')
      .description(
        'check a deployment from the outside: settings, tokens, the rule against the row, table, containers, hubs, roles and health; exit 1 when a check fails',
      )
      .option('--settings <file>', 'check the settings of a local.settings.json instead of the environment')
      .addOption(
        new Option(
          '--app <name>',
          "check a deployed function app: its settings and its identity's roles",
        ).conflicts('settings'),
      )
      .option('--resource-group <group>', "the app's resource group (with --app)")
      .option('--subscription <id>', "the app's subscription (with --app; default: AZURE_SUBSCRIPTION_ID)")
      .option(
        '--principal-id <id>',
        "whose roles to check (default: the app's identity with --app, else the signed-in one)",
        objectId,
      )
      .option(
        '--probe',
        'also send one row marked DataType "Probe" to the logs stream and report the answer',
      ),
    { formats: OUTPUT_FORMATS, what: 'how the checks are printed on stdout', defaultText: 'table' },
  )
    .addHelpText('after', helpText(HELP.doctor))
    .action(
      async (
        flags: OutputFlags & {
          settings?: string;
          app?: string;
          resourceGroup?: string;
          subscription?: string;
          principalId?: string;
          probe?: boolean;
        },
      ) => {
        const identity = {
          LOCAL_DEV_BEARER_TOKEN: io.env.LOCAL_DEV_BEARER_TOKEN,
          AZURE_CLIENT_ID: io.env.AZURE_CLIENT_ID,
        };
        let source: SettingsSource;
        if (flags.app) {
          const subscription = flags.subscription ?? io.env.AZURE_SUBSCRIPTION_ID?.trim();
          if (!flags.resourceGroup || !subscription)
            throw new InvalidArgumentError(
              '--app needs --resource-group and --subscription (or AZURE_SUBSCRIPTION_ID)',
            );
          const arm = io.env.AZURE_RESOURCE_MANAGER_ENDPOINT?.trim() || 'https://management.azure.com';
          const reader = new ResourceReader(new AzureClients(identity).credential(), arm);
          source = await readAppSettings(reader, {
            subscription,
            resourceGroup: flags.resourceGroup,
            name: flags.app,
          });
        } else {
          source = flags.settings
            ? readLocalSettings(flags.settings)
            : { env: io.env, from: 'the environment' };
        }
        exitCode = await doctorCommand(
          {
            source,
            // A deployed app's managed identity cannot be used from here: the doctor runs as you.
            identity: flags.app
              ? identity
              : {
                  LOCAL_DEV_BEARER_TOKEN: source.env.LOCAL_DEV_BEARER_TOKEN,
                  AZURE_CLIENT_ID: source.env.AZURE_CLIENT_ID,
                },
            ...(flags.principalId ? { principalId: flags.principalId } : {}),
            probe: flags.probe === true,
            clock,
            output: outputOf<OutputFormat>(flags, 'table'),
          },
          io,
        );
      },
    );

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    const command = program.commands.find((c) => argv.includes(c.name()))?.name();
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return EXIT.ok; // --help, --version
      const helpFor = command ? `defender-export ${command} --help` : 'defender-export --help';
      const message =
        error.code === 'commander.help'
          ? 'a command is required'
          : error.message.replace(/^error: /, '').replace(/\n\((Did you mean [^)]*)\)/, ' ($1)');
      await write(io.stderr, errorText(message, `Run '${helpFor}' for the usage.`));
      return EXIT.usage;
    }
    const failure = describeFailure(error, command);
    await write(io.stderr, failure.text);
    return failure.code;
  }
}
