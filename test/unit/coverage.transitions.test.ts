import { describe, expect, it } from 'vitest';
import { isGap, STATUSES, type CoverageStatus, type SubscriptionCoverage } from '../../lib/coverage/model';
import { compare, recordChanged, type CoverageRecord } from '../../lib/coverage/transitions';

const SUB = '00000000-0000-0000-0000-0000000000b2';
const HOUR = 3_600_000;
const t0 = new Date('2026-11-24T12:00:00Z');
const at = (hours: number) => new Date(t0.getTime() + hours * HOUR);

const coverage = (status: CoverageStatus): SubscriptionCoverage => ({
  subscriptionId: SUB,
  displayName: 'Contoso',
  status,
  findings: status === 'Covered' ? [] : [{ status, message: `${status}: do something.` }],
  qualifying: [],
  missingSources: [],
  filtered: [],
  lastSeen: {},
});

/** Runs the statuses one run after another, carrying the records over, and returns each run's outcome. */
function runs(statuses: CoverageStatus[], reminderHours = 24, stepHours = 6) {
  let stored = new Map<string, CoverageRecord>();
  return statuses.map((status, i) => {
    const before = stored;
    const outcome = compare(before, [coverage(status)], at(i * stepHours), reminderHours * HOUR);
    stored = new Map(outcome.records.map((r) => [r.subscriptionId, r]));
    return {
      ...outcome,
      record: outcome.records[0]!,
      written: recordChanged(before.get(SUB), outcome.records[0]!),
      kinds: outcome.alerts.map((a) => a.kind),
    };
  });
}

describe('which statuses are gaps', () => {
  it('alerts on every status but Covered, AwaitingData and Unreachable', () => {
    expect(STATUSES.filter((s) => !isGap(s))).toEqual(['Covered', 'AwaitingData', 'Unreachable']);
  });
});

describe('an unreachable Resource Manager', () => {
  it('keeps the stored record untouched: no alert, no reminder, no history, nothing written', () => {
    // Missing, then Resource Manager is down past the reminder time, then it is back and still Missing.
    const [first, down, stillDown, back] = runs(['Missing', 'Unreachable', 'Unreachable', 'Missing'], 6);
    expect(first!.kinds).toEqual(['opened']);
    for (const run of [down!, stillDown!]) {
      expect(run.kinds).toEqual([]);
      expect(run.history).toEqual([]);
      expect(run.written).toBe(false);
      expect(run.record).toEqual(first!.record);
    }
    // The reminder skipped while down comes when Resource Manager answers again; nothing "changed".
    expect(back!.kinds).toEqual(['reminder']);
    expect(back!.history).toEqual([]);
    expect(back!.record.since).toBe(first!.record.since);
  });

  it('neither recovers nor reopens a gap: Covered, Unreachable, Covered raises nothing', () => {
    const outcome = runs(['Covered', 'Unreachable', 'Covered', 'Unreachable', 'Disabled']);
    expect(outcome.map((r) => r.kinds)).toEqual([[], [], [], [], ['opened']]);
    expect(outcome[4]!.alerts[0]!.previousStatus).toBe('Covered');
  });

  it('keeps an alert that could not be delivered pending until it can be judged again', () => {
    const first = compare(new Map(), [coverage('Missing')], t0, 0);
    const stored = new Map([[SUB, { ...first.records[0]!, pendingAlert: 'opened' as const }]]);
    delete stored.get(SUB)!.lastAlertAt;
    const down = compare(stored, [coverage('Unreachable')], at(1), 0);
    expect(down.alerts).toEqual([]);
    expect(down.records[0]!.pendingAlert).toBe('opened');
    const back = compare(new Map([[SUB, down.records[0]!]]), [coverage('Missing')], at(2), 0);
    expect(back.alerts.map((a) => a.kind)).toEqual(['opened']);
  });

  it('remembers a subscription never judged as Unreachable, and its first real status is new', () => {
    const [down, missing] = runs(['Unreachable', 'Missing']);
    expect(down!.kinds).toEqual([]);
    expect(down!.record.status).toBe('Unreachable');
    expect(missing!.kinds).toEqual(['opened']);
    const [, covered] = runs(['Unreachable', 'Covered']);
    expect(covered!.kinds).toEqual([]); // nothing to recover from
  });
});

describe('a subscription awaiting its first data', () => {
  it('is not alerted when new, and opens a gap only when it becomes NoData', () => {
    const outcome = runs(['AwaitingData', 'AwaitingData', 'AwaitingData', 'NoData', 'Covered']);
    expect(outcome.map((r) => r.kinds)).toEqual([[], [], [], ['opened'], ['recovered']]);
  });

  it('is a recovery when a gap is fixed, and reaching Covered afterwards raises nothing', () => {
    const outcome = runs(['Disabled', 'AwaitingData', 'Covered']);
    expect(outcome.map((r) => r.kinds)).toEqual([['opened'], ['recovered'], []]);
    expect(outcome[1]!.alerts[0]).toMatchObject({ previousStatus: 'Disabled' });
    expect(outcome.map((r) => r.history.map((h) => [h.from, h.to]))).toEqual([
      [['', 'Disabled']],
      [['Disabled', 'AwaitingData']],
      [['AwaitingData', 'Covered']],
    ]);
  });

  it('is never reminded about', () => {
    const outcome = runs(['AwaitingData', 'AwaitingData', 'AwaitingData'], 1, 10);
    expect(outcome.flatMap((r) => r.kinds)).toEqual([]);
  });
});
