import { runDoctor, type DoctorOptions } from '../doctor/doctor';
import { STATUS_SYMBOL, type DoctorReport } from '../doctor/model';
import { EXIT, type Io } from './io';
import { printResult, type OutputOptions } from './output';
import { plural } from './text';

/**
 * `doctor -o table`: one line per check (✓ passed, ✗ failed, ! worth a look, – not run) grouped by area,
 * each failure followed by its fix, then the counts. Names, hosts and resource ids only: never a value.
 */
export function doctorTable(report: DoctorReport): string {
  const areaWidth = Math.max(...report.checks.map((c) => c.area.length));
  const nameWidth = Math.min(48, Math.max(...report.checks.map((c) => c.name.length)));
  const lines = [
    `Checked ${report.settingsFrom}${report.principal ? `; roles of ${report.principal.id} (${report.principal.from})` : ''}`,
    '',
  ];
  for (const c of report.checks) {
    lines.push(
      `${STATUS_SYMBOL[c.status]} ${c.area.padEnd(areaWidth)}  ${c.name.padEnd(nameWidth)}  ${c.detail}`,
    );
    if (c.fix) lines.push(`${' '.repeat(areaWidth + nameWidth + 6)}fix: ${c.fix}`);
  }
  const { pass, fail, warn, skip } = report.counts;
  lines.push(
    '',
    [
      `${pass} passed`,
      `${fail} failed`,
      ...(warn ? [`${plural(warn, 'warning')}`] : []),
      ...(skip ? [`${skip} not run`] : []),
    ].join(', '),
  );
  return `${lines.join('\n')}\n`;
}

/** `defender-export doctor`: exit 0 when nothing failed (warnings included), 1 when a check failed. */
export async function doctorCommand(
  options: DoctorOptions & { output: OutputOptions },
  io: Io,
): Promise<number> {
  const report = await runDoctor(options);
  await printResult(io, report, options.output, () => doctorTable(report));
  return report.counts.fail > 0 ? EXIT.someFailed : EXIT.ok;
}
