import type { Ledger } from '../ledger';
import { failureText } from '../sinks/deliveryFailure';

/** The ledger as a few lines a person reads on stderr. */
export function ledgerText(ledger: Ledger): string {
  const lines = [
    `received ${ledger.received} events from ${ledger.messages} messages: ${ledger.routed} routed, ` +
      `${ledger.dropped} dropped by a rule, ${ledger.invalid} dead-lettered as bad input` +
      (ledger.faults > 0
        ? `, ${ledger.faults} dead-lettered by a fault of ours (a bug: please report it)`
        : ''),
    `fitted: ${ledger.split} split into ${ledger.parts} parts, ${ledger.trimmed} trimmed`,
  ];
  for (const [name, d] of Object.entries(ledger.destinations)) {
    lines.push(
      `${name}: ${d.delivered} delivered, ${d.parked} parked, ${d.deadLettered} dead-lettered (of ${d.routed})` +
        (d.failure ? `; first failure: ${failureText(d.failure)}` : ''),
    );
  }
  for (const reason of ledger.deadLetterReasons) lines.push(`dead-lettered ${reason}`);
  lines.push(
    ledger.problems.length === 0
      ? `accounted for: all ${ledger.received} received`
      : `NOT ACCOUNTED FOR: ${ledger.problems.join('; ')}`,
  );
  return `${lines.join('\n')}\n`;
}

/** Whether anything failed to reach a destination (dead-lettered, or parked for a later redrive). */
export function somethingFailed(ledger: Ledger): boolean {
  return (
    ledger.invalid > 0 ||
    ledger.faults > 0 ||
    Object.values(ledger.destinations).some((d) => d.parked > 0 || d.deadLettered > 0)
  );
}
