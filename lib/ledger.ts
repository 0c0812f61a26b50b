import type { DeliveryFailure } from './sinks/deliveryFailure';

/** What became of one destination's share of a batch. */
export interface DestinationCounts {
  routed: number;
  delivered: number;
  parked: number;
  deadLettered: number;
  /** The first failure met at this destination: what the log line says when something was parked or refused. */
  failure?: DeliveryFailure;
}

/**
 * The account of a batch (or of many, summed): every event received ends dead-lettered as bad input,
 * dropped by a rule, or routed; and for every destination, every event routed there ends delivered, parked
 * or dead-lettered. `problems` lists any way these sums fail to add up; it is empty when all is accounted for.
 */
export interface Ledger {
  messages: number;
  /** Events, plus message bodies and envelope elements that could not become events. */
  received: number;
  /** Received but not an event we can use: dead-lettered with a reason before routing. */
  invalid: number;
  /** Dead-lettered (stage `internal`) because our own code failed on them on the batch's last attempt: a bug. */
  faults: number;
  dropped: number;
  /** Events sent to at least one destination. */
  routed: number;
  split: number;
  parts: number;
  trimmed: number;
  destinations: Record<string, DestinationCounts>;
  parkedBlobs: number;
  deadLetterBlobs: number;
  heartbeatFailures: number;
  /** The first distinct dead-letter reasons (`stage: reason`), at most MAX_REASONS: why without opening a blob. */
  deadLetterReasons: string[];
  problems: string[];
}

/** Dead-letter reasons a ledger keeps. */
const MAX_REASONS = 5;

/** Adds a reason unless it is known or the ledger holds MAX_REASONS already. */
export function noteReason(ledger: Ledger, reason: string): void {
  if (ledger.deadLetterReasons.length < MAX_REASONS && !ledger.deadLetterReasons.includes(reason))
    ledger.deadLetterReasons.push(reason);
}

export function emptyLedger(): Ledger {
  return {
    messages: 0,
    received: 0,
    invalid: 0,
    faults: 0,
    dropped: 0,
    routed: 0,
    split: 0,
    parts: 0,
    trimmed: 0,
    destinations: {},
    parkedBlobs: 0,
    deadLetterBlobs: 0,
    heartbeatFailures: 0,
    deadLetterReasons: [],
    problems: [],
  };
}

export function destination(ledger: Ledger, name: string): DestinationCounts {
  return (ledger.destinations[name] ??= { routed: 0, delivered: 0, parked: 0, deadLettered: 0 });
}

/** The invariant, checked: an empty list means every event is accounted for, per destination. */
export function auditLedger(ledger: Ledger): string[] {
  const problems: string[] = [];
  const accounted = ledger.invalid + ledger.faults + ledger.dropped + ledger.routed;
  if (accounted !== ledger.received) {
    problems.push(
      `received ${ledger.received} but accounted for ${accounted} (invalid + faults + dropped + routed)`,
    );
  }
  for (const [name, d] of Object.entries(ledger.destinations)) {
    const ended = d.delivered + d.parked + d.deadLettered;
    if (ended !== d.routed) {
      problems.push(`${name}: routed ${d.routed} but delivered + parked + dead-lettered is ${ended}`);
    }
  }
  return problems;
}

/** Sums ledgers (replay adds up its batches). */
export function addLedger(total: Ledger, batch: Ledger): Ledger {
  const sum = emptyLedger();
  const scalar = [
    'messages',
    'received',
    'invalid',
    'faults',
    'dropped',
    'routed',
    'split',
    'parts',
    'trimmed',
    'parkedBlobs',
    'deadLetterBlobs',
    'heartbeatFailures',
  ] as const;
  for (const key of scalar) sum[key] = total[key] + batch[key];
  for (const source of [total, batch]) {
    for (const [name, d] of Object.entries(source.destinations)) {
      const s = destination(sum, name);
      s.routed += d.routed;
      s.delivered += d.delivered;
      s.parked += d.parked;
      s.deadLettered += d.deadLettered;
      if (d.failure && !s.failure) s.failure = d.failure;
    }
  }
  for (const reason of [...total.deadLetterReasons, ...batch.deadLetterReasons]) noteReason(sum, reason);
  sum.problems = [...total.problems, ...batch.problems];
  return sum;
}
