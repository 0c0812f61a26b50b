import type { Ledger } from '../ledger';
import { failureText } from '../sinks/deliveryFailure';
import { columns, plural } from './text';

/** What to do about a refusal that will not pass by itself: the identity may not write there. */
function accessHint(destination: string, status: number | undefined): string | undefined {
  if (status !== 401 && status !== 403) return undefined;
  const role = destination.startsWith('logs:')
    ? 'Monitoring Metrics Publisher on the data collection rule'
    : 'Storage Blob Data Contributor on the storage account';
  return (
    `HTTP ${status}: the identity may not write here; grant it ${role} (a new role assignment can take ` +
    `30 minutes to apply). Parked items are delivered by redriveParked once it can.`
  );
}

/** The ledger as a few lines a person reads on stderr. */
export function ledgerText(ledger: Ledger): string {
  const lines = [
    `received ${plural(ledger.received, 'event')} from ${plural(ledger.messages, 'message')}: ` +
      `${ledger.routed} routed, ${ledger.dropped} dropped by a rule, ${ledger.invalid} dead-lettered as bad input` +
      (ledger.faults > 0
        ? `, ${ledger.faults} dead-lettered by a fault of ours (a bug: please report it)`
        : ''),
    `fitted: ${ledger.split} split into ${plural(ledger.parts, 'part')}, ${ledger.trimmed} trimmed`,
  ];
  for (const [name, d] of Object.entries(ledger.destinations)) {
    lines.push(
      `${name}: ${d.delivered} delivered, ${d.parked} parked, ${d.deadLettered} dead-lettered (of ${d.routed})` +
        (d.failure ? `; first failure: ${failureText(d.failure)}` : ''),
    );
    const hint = d.failure && accessHint(name, d.failure.status);
    if (hint) lines.push(`  ${hint}`);
  }
  for (const reason of ledger.deadLetterReasons) lines.push(`dead-lettered ${reason}`);
  lines.push(
    ledger.problems.length === 0
      ? `accounted for: all ${ledger.received} received`
      : `NOT ACCOUNTED FOR: ${ledger.problems.join('; ')}`,
  );
  return `${lines.join('\n')}\n`;
}

/** `replay -o table`: one line per destination, then the totals. */
export function ledgerTable(ledger: Ledger): string {
  const rows = Object.entries(ledger.destinations).map(([name, d]) => [
    name,
    String(d.routed),
    String(d.delivered),
    String(d.parked),
    String(d.deadLettered),
  ]);
  const table = columns(['DESTINATION', 'ROUTED', 'DELIVERED', 'PARKED', 'DEAD-LETTERED'], rows, {
    right: new Set([1, 2, 3, 4]),
  });
  return (
    `${table}\n${plural(ledger.received, 'event')} received from ${plural(ledger.messages, 'message')}: ` +
    `${ledger.routed} routed, ${ledger.dropped} dropped, ${ledger.invalid + ledger.faults} dead-lettered before routing` +
    `${ledger.problems.length === 0 ? '' : '; NOT ACCOUNTED FOR'}\n`
  );
}

/** Whether anything failed to reach a destination (dead-lettered, or parked for a later redrive). */
export function somethingFailed(ledger: Ledger): boolean {
  return (
    ledger.invalid > 0 ||
    ledger.faults > 0 ||
    Object.values(ledger.destinations).some((d) => d.parked > 0 || d.deadLettered > 0)
  );
}
