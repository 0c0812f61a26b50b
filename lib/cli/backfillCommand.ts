import {
  runBackfill,
  type BackfillDependencies,
  type BackfillOptions,
  type BackfillReport,
} from '../backfill/backfill';
import { BACKFILL_DATA_TYPES } from '../backfill/mapping';
import { errorText } from './failure';
import { EXIT, write, type Io } from './io';
import { ledgerText, somethingFailed } from './ledgerText';
import { printResult, type OutputOptions } from './output';
import { Progress } from './progress';
import { columns, plural, thousands } from './text';

/** `backfill -o table`: resources per data type, and what the run was. */
export function backfillTable(report: BackfillReport, dryRun: boolean): string {
  const rows = BACKFILL_DATA_TYPES.filter((t) => report.resources[t] !== undefined).map((t) => [
    t,
    thousands(report.resources[t]!),
  ]);
  const table = columns(['DATA TYPE', dryRun ? 'FOUND' : 'READ'], rows, { right: new Set([1]) });
  const run = report.run;
  const what = dryRun
    ? 'dry run: counted only; nothing was sent or kept'
    : `${run.resumed ? 'resumed' : 'run'} ${run.key.slice(0, 12)}, snapshot of ${run.snapshotAt.slice(0, 10)}, ${plural(report.pages, 'page')}` +
      (run.finished ? '' : '; stopped before the end: run the same command again to resume');
  return `${table}\n${what}\n`;
}

/**
 * `defender-export backfill`: the current Defender state through the pipeline (lib/backfill/backfill.ts),
 * with a progress bar on a terminal; the ledger on stderr as `replay` prints it.
 */
export async function backfillCommand(
  options: Omit<BackfillOptions, 'onProgress'> & { output: OutputOptions },
  io: Io,
  deps: BackfillDependencies,
): Promise<number> {
  const progress = new Progress(io, 'backfill', undefined);
  let report: BackfillReport;
  try {
    report = await runBackfill(deps, {
      ...options,
      onProgress: (done, total) => {
        if (total !== undefined) progress.setTotalEvents(total);
        progress.update(done);
      },
    });
  } finally {
    progress.stop();
  }
  if (!options.dryRun) await write(io.stderr, ledgerText(report.ledger));
  await printResult(io, report, options.output, () => backfillTable(report, options.dryRun));
  if (report.ledger.problems.length > 0) {
    await write(
      io.stderr,
      errorText(
        `the ledger does not add up: ${report.ledger.problems.join('; ')} (a bug: please report it)`,
        'Please report it with this output.',
      ),
    );
    return EXIT.internal;
  }
  return somethingFailed(report.ledger) ? EXIT.someFailed : EXIT.ok;
}
