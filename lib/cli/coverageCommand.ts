import { statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { reconcileCoverage, type CoverageDependencies, type CoverageReport } from '../coverage/reconcile';
import { coverageHtml } from '../coverage/report';
import { ActionableError } from '../errors';
import { coverageTable, terminalWidth } from './coverageText';
import { EXIT, write, type Io } from './io';
import { printResult, type OutputOptions } from './output';

export interface CoverageOptions {
  /** How the report is printed on stdout (default: the table). */
  output?: OutputOptions;
  /** Without `output`: true is `-o json`, as before `-o` existed. */
  json?: boolean;
  html?: string;
  remediate: boolean;
  dryRun: boolean;
  /** Write the coverage state and history and send the Coverage rows (`--record`); default false. */
  record?: boolean;
  /** Post the alerts to the webhook (`--notify`, which implies record); default false. */
  notify?: boolean;
  /** Lines the table ends with (what the command line chose not to do, beyond the report's own). */
  notes?: readonly string[];
}

/** Fails before the reconciliation, not after it, when the HTML page could not be written. */
export function checkWritable(file: string): void {
  const problem = (() => {
    try {
      if (!statSync(dirname(file)).isDirectory()) return 'its folder is not a directory';
    } catch {
      return 'its folder does not exist';
    }
    try {
      if (statSync(file).isDirectory()) return 'it is a directory';
    } catch {
      // not there yet: it will be
    }
    return undefined;
  })();
  if (problem) {
    throw new ActionableError(
      `cannot write the HTML report to ${file}: ${problem}`,
      'Give --html a file name in a folder that exists.',
    );
  }
}

/**
 * `defender-export coverage`: one reconciliation now. It looks only unless told to record (`record`) or to
 * notify (`notify`); exit 1 when any subscription has a gap.
 */
export async function coverageCommand(
  options: CoverageOptions,
  io: Io,
  deps: CoverageDependencies,
): Promise<number> {
  const output: OutputOptions = options.output ?? { format: options.json ? 'json' : 'table' };
  if (options.html) checkWritable(options.html);
  const notify = options.notify === true;
  const report: CoverageReport = await reconcileCoverage(deps, {
    remediate: options.remediate || options.dryRun,
    dryRun: options.dryRun,
    record: notify || options.record === true,
    notify,
  });
  await printResult(io, report, output, () =>
    coverageTable(report, options.notes, { width: terminalWidth(io.stdout) }),
  );
  if (options.html) {
    try {
      await writeFile(options.html, coverageHtml(report), 'utf8');
    } catch (error) {
      throw new ActionableError(
        `cannot write the HTML report to ${options.html}: ${(error as Error).message}`,
        'Give --html a file name in a folder you may write to.',
        { cause: error },
      );
    }
  }
  for (const change of report.remediation) {
    const verb = options.dryRun ? 'would' : change.applied?.ok ? 'did' : 'could not';
    await write(
      io.stderr,
      `remediation (${verb} ${change.kind}) ${change.subscriptionId}: ${change.reason}\n`,
    );
    if (options.dryRun && change.kind !== 'skip') {
      await write(io.stderr, `  ${change.method} ${change.url}\n  ${JSON.stringify(change.body)}\n`);
    }
    if (change.applied && !change.applied.ok) await write(io.stderr, `  failed: ${change.applied.message}\n`);
  }
  // Subscriptions Resource Manager never answered for were not judged: "no gap" would not be true.
  const unreachable = report.counts.Unreachable ?? 0;
  if (unreachable > 0) {
    await write(
      io.stderr,
      `defender-export: error: Resource Manager could not be reached for ${unreachable === 1 ? '1 subscription' : `${unreachable} subscriptions`}: they were not judged\n` +
        'Check AZURE_RESOURCE_MANAGER_ENDPOINT, the network path to it (DNS, proxy, firewall) and the identity, then run again.\n',
    );
    return EXIT.usage;
  }
  return report.gaps > 0 ? EXIT.someFailed : EXIT.ok;
}
