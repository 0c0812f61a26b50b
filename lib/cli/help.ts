/**
 * What `--help` says after the options: examples, and the settings (environment variables, the same app
 * settings the function app reads) each command uses. test/unit/cli-conventions.test.ts checks that every
 * setting named here is one lib/config.ts knows.
 */

export interface CommandHelp {
  examples: ReadonlyArray<readonly [command: string, what: string]>;
  settings: ReadonlyArray<readonly [name: string, what: string]>;
  notes?: readonly string[];
}

const IDENTITY: CommandHelp['settings'] = [
  ['AZURE_CLIENT_ID', "a user-assigned managed identity; otherwise DefaultAzureCredential ('az login')"],
  ['LOCAL_DEV_BEARER_TOKEN', 'a static token for local https stand-ins; never set against Azure'],
];

export const HELP: Record<
  'normalize' | 'reassemble' | 'replay' | 'coverage' | 'doctor' | 'backfill',
  CommandHelp
> = {
  normalize: {
    examples: [
      ['defender-export normalize events.ndjson > rows.ndjson', 'the rows Log Analytics would get'],
      ['defender-export normalize -o none events.ndjson', 'only check: the summary and the exit code'],
      [
        "defender-export normalize --query '[EventKey, PartIndex, PartCount]' -o tsv big.json",
        'one line per row',
      ],
      ['npm run generate -- --count 1000 | defender-export normalize --limit 4096', 'from stdin'],
    ],
    settings: [
      ['RECORD_SIZE_LIMIT_BYTES', 'the default of --limit (32768)'],
      ['OVERSIZE_STRATEGY', 'the default of --strategy (split)'],
    ],
    notes: [
      '-o and --query shape the rows on stdout, one a line (NDJSON by default,',
      'what reassemble reads): the rows are the data of this command, streamed,',
      'never held, so there is no table. The summary and the dead-letter reasons',
      'go to stderr as text, whatever -o says: -o none checks a file.',
    ],
  },
  reassemble: {
    examples: [
      ['defender-export reassemble rows.ndjson > events.ndjson', 'the original events back'],
      ['defender-export reassemble exported.json', 'a JSON array as the Log Analytics portal exports it'],
      [
        "defender-export normalize big.json | defender-export reassemble --query 'SystemAlertId' -o tsv",
        'one id a line',
      ],
    ],
    settings: [],
    notes: [
      '-o and --query shape the events on stdout, one a line, as normalize does',
      'its rows (no table); the problems and the summary go to stderr.',
    ],
  },
  replay: {
    examples: [
      ['defender-export replay events.ndjson', 'through the Event Hub function; the ledger on stderr'],
      ['defender-export replay -o json events.ndjson > ledger.json', 'the ledger as JSON too'],
      [
        "defender-export replay --query 'destinations.*.parked | sum(@)' -o tsv events.ndjson",
        'how many were parked',
      ],
      [
        'defender-export replay --partitions 4 --batch-size 100 --source defender-cloud big.ndjson',
        'as the host would',
      ],
    ],
    settings: [
      [
        'LOGS_INGESTION_ENDPOINT, LOGS_DCR_IMMUTABLE_ID',
        'where logs rows go (required when ROUTES sends to logs)',
      ],
      ['LOGS_STREAM_NAME', 'the stream plain `logs` means'],
      ['LOGS_AUXILIARY_STREAMS', 'streams whose table is on the Auxiliary plan'],
      ['ROUTES', 'the routing rules'],
      ['RECORD_SIZE_LIMIT_BYTES, OVERSIZE_STRATEGY', 'how rows are fitted'],
      ['ARCHIVE_STORAGE or AzureWebJobsStorage', 'the archive, parked and dead-letter containers'],
      ['ARCHIVE_CONTAINER, PARKED_CONTAINER, DEADLETTER_CONTAINER', 'their names'],
      ['STATE_STORAGE or AzureWebJobsStorage', 'the heartbeat table'],
      ...IDENTITY,
    ],
    notes: [
      'The ledger is always summarised on stderr; -o prints it on stdout too',
      '(table: one line per destination), and --query picks from it. Progress',
      '(a bar, or a spinner for stdin) shows on stderr when it is a terminal.',
    ],
  },
  coverage: {
    examples: [
      ['defender-export coverage', 'look: a table of every subscription; writes and sends nothing'],
      ['defender-export coverage --record --notify', 'what the reconcileCoverage timer does'],
      [
        'defender-export coverage --query "subscriptions[?status!=\'Covered\'].[subscriptionId, status]" -o tsv',
        'the gaps',
      ],
      ['defender-export coverage --dry-run', 'the exact requests remediation would send'],
      ['defender-export coverage --html coverage.html -o none', 'a page for an auditor'],
    ],
    settings: [
      ['COVERAGE_DESTINATIONS', 'required: the Event Hub or workspace ids exports must send to'],
      ['COVERAGE_SCOPE', 'all, or subscription ids'],
      ['COVERAGE_REQUIRED_SOURCES, COVERAGE_REQUIRED_SEVERITIES', 'what an export must send'],
      ['COVERAGE_STALE_AFTER_HOURS, COVERAGE_SNAPSHOT_STALE_AFTER_DAYS', 'silence judged stale'],
      ['COVERAGE_CONCURRENCY', 'concurrent ARM reads'],
      ['COVERAGE_DISCOVERY_HOURS', 'over 18,000 subscriptions: how often all are listed'],
      ['AZURE_RESOURCE_MANAGER_ENDPOINT', 'ARM (sovereign clouds, the local stand-in)'],
      ['STATE_STORAGE or AzureWebJobsStorage', 'heartbeats (read), coverage state (written with --record)'],
      [
        'LOGS_INGESTION_ENDPOINT, LOGS_DCR_IMMUTABLE_ID, LOGS_STREAM_NAME',
        'where --record sends Coverage rows',
      ],
      ['COVERAGE_WEBHOOK_URL, COVERAGE_REMINDER_HOURS', 'where and how often --notify alerts'],
      [
        'COVERAGE_REMEDIATION_RESOURCE_GROUP, COVERAGE_REMEDIATION_LOCATION',
        'required by --remediate and --dry-run',
      ],
      ['COVERAGE_REMEDIATION_NAME, COVERAGE_REMEDIATION_ADOPT', 'the automation remediation writes'],
      ...IDENTITY,
    ],
    notes: [
      'From the command line coverage only looks: it reads the estate and the',
      'heartbeats and reports. It writes the coverage state and sends Coverage',
      'rows only with --record, posts alerts only with --notify (which implies',
      '--record: the stored state tells a new gap from one already alerted), and',
      'changes automations only with --remediate (COVERAGE_REMEDIATE is for the',
      'timer). The report says what it did not do. Exit 1 when there is a gap.',
    ],
  },
  backfill: {
    examples: [
      ['defender-export backfill --dry-run', 'how many resources of each data type there are'],
      ['defender-export backfill', 'every data type of every subscription in scope, once'],
      [
        'defender-export backfill --subscriptions <id> --data-types Recommendation,SecurityFinding',
        'one subscription after its export was fixed',
      ],
      ['defender-export backfill --data-types Alert --since 2026-11-01', 'alerts of the last weeks'],
    ],
    settings: [
      ['COVERAGE_SCOPE', 'the subscriptions, when --subscriptions is not given (all: every one visible)'],
      ['AZURE_RESOURCE_MANAGER_ENDPOINT', 'Resource Manager, where Resource Graph answers'],
      ['LOGS_*, ROUTES, RECORD_SIZE_LIMIT_BYTES, OVERSIZE_STRATEGY', 'the pipeline, as replay uses it'],
      [
        'ARCHIVE_STORAGE, STATE_STORAGE (or AzureWebJobsStorage)',
        'the containers, and where the position is kept',
      ],
      ...IDENTITY,
    ],
    notes: [
      'Each resource becomes the event continuous export would send, marked',
      'securityEventDataEnrichment.source "Backfill" and IsSnapshot, and goes',
      'through the same routing, fitting and outboxes. The position is kept',
      'after every page: after a crash, the same command resumes. Backfilling',
      'again the same day gives the same EventKeys and writes no archive blob',
      'twice. Needs Security Reader on the subscriptions. Exit codes as replay.',
    ],
  },
  doctor: {
    examples: [
      [
        'defender-export doctor --app func-defexp-abc123 --resource-group rg-defender-export --subscription <id>',
        'a deployed app: its settings, its identity, every check',
      ],
      ['defender-export doctor --settings local.settings.json --probe', 'local settings, and one probe row'],
      [
        'defender-export doctor --query "checks[?status==\'fail\']" -o json',
        'only what failed, for a script',
      ],
    ],
    settings: [
      ['LOGS_DCR_RESOURCE_ID', 'the data collection rule, to check its stream, data flow, table and role'],
      ['EVENTHUB_NAMESPACE_RESOURCE_ID', 'the namespace, to check the hubs, consumer group and role'],
      ['EventHubConnection__fullyQualifiedNamespace or EventHubConnection', "the trigger's connection"],
      [
        'LOGS_*, ARCHIVE_STORAGE, STATE_STORAGE, COVERAGE_*',
        'what the app reads, checked as the app uses them',
      ],
      ['AZURE_SUBSCRIPTION_ID', 'the default of --subscription'],
      ...IDENTITY,
    ],
    notes: [
      'Each check is a line: ✓ passed, ✗ failed (with the fix), ! worth a look,',
      '– not run (and why). With --app the settings are read from the app',
      '(Website Contributor on it) and the roles checked are its managed',
      "identity's; the checks themselves run as you (az login): the probes",
      'write as you, not as the app. Values are never printed. Exit 0 when',
      'nothing failed (warnings included), 1 when a check failed, 2 for usage.',
    ],
  },
};

/** The text after a command's options: notes, examples, settings. */
export function helpText(help: CommandHelp): string {
  const lines: string[] = [];
  if (help.notes?.length) lines.push('', ...help.notes);
  lines.push('', 'Examples:');
  for (const [command, what] of help.examples) lines.push(`  ${command}`, `      ${what}`);
  lines.push('', 'Settings (environment variables, as the function app reads them):');
  if (help.settings.length === 0) lines.push('  none');
  for (const [name, what] of help.settings) lines.push(`  ${name}`, `      ${what}`);
  return `${lines.join('\n')}\n`;
}

/** The text after the program's own help: the conventions every command shares. */
export const PROGRAM_HELP = `
As in the Azure CLI, every command takes -o/--output (json, jsonc, table,
tsv, none; --json is -o json) and --query, a JMESPath query applied to the
JSON before it is printed. '<command> --help' shows what -o shapes for that
command, examples, and the settings (environment variables) it reads.

Exit codes:
  0   done
  1   it ran, but something failed: events dead-lettered or parked, rows
      that could not be reassembled, a coverage gap
  2   usage, configuration, an input file that cannot be read, missing
      credentials: fix it and run again
  70  a bug of ours (the ledger does not add up, or an unexpected error):
      please report it
`;
