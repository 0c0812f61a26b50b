import { writeFile } from 'node:fs/promises';
import type { CoverageDependencies } from '../coverage/reconcile';
import { reconcileCoverage } from '../coverage/reconcile';
import { coverageHtml, coverageTable } from '../coverage/report';
import { EXIT, write, type Io } from './io';

export interface CoverageOptions {
  json: boolean;
  html?: string;
  remediate: boolean;
  dryRun: boolean;
}

/** `defender-export coverage`: one reconciliation now; exit 1 when any subscription has a gap. */
export async function coverageCommand(
  options: CoverageOptions,
  io: Io,
  deps: CoverageDependencies,
): Promise<number> {
  const report = await reconcileCoverage(deps, {
    remediate: options.remediate || options.dryRun,
    dryRun: options.dryRun,
  });
  if (options.json) await write(io.stdout, `${JSON.stringify(report)}\n`);
  else await write(io.stdout, coverageTable(report));
  if (options.html) await writeFile(options.html, coverageHtml(report), 'utf8');
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
  return report.gaps > 0 ? EXIT.someFailed : EXIT.ok;
}
