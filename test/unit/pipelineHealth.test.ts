import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  judgeHealth,
  readPipelineHealth,
  type HealthFinding,
  type PipelineHealth,
} from '../../lib/health/pipelineHealth';
import { memorySinks } from '../../lib/memory';
import type { ParkedItem, Sighting } from '../../lib/ports';
import type { DataType } from '../../lib/records/row';
import type { DeadLetterRecord } from '../../lib/sinks/deadLetter';
import { NOW, TestClock } from '../helpers/memoryDeps';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const THRESHOLDS = { staleAfterHours: 48, snapshotStaleAfterDays: 8 };
const before = (ms: number, from = NOW) => new Date(from.getTime() - ms);

let sequence = 0;

function parkedItem(firstParkedAt: Date): ParkedItem {
  const n = ++sequence;
  return {
    version: 1,
    origin: { source: 'defender-cloud', partitionId: '0', firstSequenceNumber: n, lastSequenceNumber: n },
    destination: 'archive',
    blobName: `alert/batch-${n}.ndjson.gz`,
    lines: [`{"n":${n}}`],
    events: 1,
    attempts: 1,
    firstParkedAt: firstParkedAt.toISOString(),
    lastError: { message: 'HTTP 503', status: 503, code: 'ServiceUnavailable' },
  };
}

function deadLetterRecords(count: number): DeadLetterRecord[] {
  const n = ++sequence;
  return Array.from({ length: count }, (_, index) => ({
    stage: 'logs',
    reason: 'refused',
    body: `{"n":${n},"i":${index}}`,
    encoding: 'utf8',
    partitionId: '0',
    sequenceNumber: n,
    enqueuedTimeUtc: NOW.toISOString(),
    index,
  }));
}

const origin = () => {
  const n = ++sequence;
  return { source: 'defender-cloud', partitionId: '0', firstSequenceNumber: n, lastSequenceNumber: n };
};

const seen = (dataType: DataType, lastSeen: Date, subscriptionId = 'sub-1', snapshot = false): Sighting => ({
  subscriptionId,
  dataType,
  snapshot,
  lastSeen,
});

/** The in-memory stores, dead letters stamped by a clock the test owns. */
function stores() {
  const clock = new TestClock(NOW);
  return { ...memorySinks({ clock: clock.read }), clock };
}

const finding = (findings: HealthFinding[], subject: string) => findings.find((f) => f.subject === subject);

describe('readPipelineHealth and judgeHealth', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('read an empty pipeline: nothing parked or dead-lettered passes, no data at all warns', async () => {
    const health = await readPipelineHealth(stores(), NOW);
    expect(health).toEqual<PipelineHealth>({
      checkedAt: NOW.toISOString(),
      parked: { items: 0, dueNow: 0 },
      deadLetters: { since: before(DAY).toISOString(), blobs: 0, records: 0 },
      dataTypes: [],
    });
    expect(judgeHealth(health, THRESHOLDS, NOW)).toEqual([
      { status: 'pass', subject: 'parked items', text: 'nothing parked' },
      { status: 'pass', subject: 'dead letters', text: 'nothing dead-lettered in the last 24 hours' },
      {
        status: 'warn',
        subject: 'incoming data',
        text: 'no data has arrived yet',
        fix: expect.stringContaining('EVENTHUB_CONSUMER_GROUP'),
      },
    ]);
  });

  it('warn of a parked backlog, and fail once its oldest item has waited more than a day', async () => {
    const { parking, deadLetters, heartbeat } = stores();
    await parking.park(parkedItem(before(3 * HOUR)), before(MINUTE));
    await parking.park(parkedItem(before(HOUR)), new Date(NOW.getTime() + 5 * MINUTE));

    const health = await readPipelineHealth({ parking, deadLetters, heartbeat }, NOW);
    expect(health.parked).toEqual({ items: 2, oldest: before(3 * HOUR).toISOString(), dueNow: 1 });
    expect(finding(judgeHealth(health, THRESHOLDS, NOW), 'parked items')).toEqual({
      status: 'warn',
      subject: 'parked items',
      text: '2 parked items waiting, oldest parked 3 hours ago',
      fix: expect.stringMatching(/lastError.*redrive retries them/),
    });

    const dayLater = new Date(NOW.getTime() + 22 * HOUR);
    const later = await readPipelineHealth({ parking, deadLetters, heartbeat }, dayLater);
    expect(later.parked.dueNow).toBe(2);
    expect(finding(judgeHealth(later, THRESHOLDS, dayLater), 'parked items')).toMatchObject({
      status: 'fail',
      text: '2 parked items waiting, oldest parked 25 hours ago: the destination has been failing for over a day',
      fix: expect.stringContaining('lastError'),
    });
  });

  it('count only the dead letters written in the last 24 hours, at or after its start', async () => {
    const { parking, deadLetters, heartbeat, clock } = stores();
    clock.now = before(DAY + MINUTE);
    await deadLetters.write(origin(), deadLetterRecords(5));
    clock.now = before(DAY);
    await deadLetters.write(origin(), deadLetterRecords(1));
    clock.now = before(2 * HOUR);
    await deadLetters.write(origin(), deadLetterRecords(3));

    const health = await readPipelineHealth({ parking, deadLetters, heartbeat }, NOW);
    expect(health.deadLetters).toEqual({ since: before(DAY).toISOString(), blobs: 2, records: 4 });
    expect(finding(judgeHealth(health, THRESHOLDS, NOW), 'dead letters')).toEqual({
      status: 'warn',
      subject: 'dead letters',
      text: '4 records dead-lettered in the last 24 hours (2 blobs)',
      fix: expect.stringMatching(/DEADLETTER_CONTAINER.*reason/),
    });

    const nextDay = new Date(NOW.getTime() + DAY);
    const quiet = await readPipelineHealth({ parking, deadLetters, heartbeat }, nextDay);
    expect(quiet.deadLetters).toMatchObject({ blobs: 0, records: 0 });
    expect(finding(judgeHealth(quiet, THRESHOLDS, nextDay), 'dead letters')?.status).toBe('pass');
  });

  it('judge the silence of each data type by how often it arrives, newest first, Coverage left out', async () => {
    const { parking, deadLetters, heartbeat } = stores();
    await heartbeat.record([
      seen('Recommendation', before(9 * DAY), 'sub-1', true),
      seen('SecurityFinding', before(2 * DAY), 'sub-1', true),
      // The newest sighting over all subscriptions, streaming or snapshot, counts.
      seen('SecureScore', before(20 * DAY), 'sub-1', true),
      seen('SecureScore', before(3 * HOUR), 'sub-2', false),
      seen('XdrEvent', before(3 * DAY)),
      seen('Alert', before(30 * DAY)),
      seen('AttackPath', before(60 * DAY)),
      seen('Unknown', before(45 * DAY)),
      seen('Coverage', before(MINUTE)),
    ]);

    const health = await readPipelineHealth({ parking, deadLetters, heartbeat }, NOW);
    expect(health.dataTypes).toEqual([
      { dataType: 'SecureScore', lastSeen: before(3 * HOUR).toISOString() },
      { dataType: 'SecurityFinding', lastSeen: before(2 * DAY).toISOString() },
      { dataType: 'XdrEvent', lastSeen: before(3 * DAY).toISOString() },
      { dataType: 'Recommendation', lastSeen: before(9 * DAY).toISOString() },
      { dataType: 'Alert', lastSeen: before(30 * DAY).toISOString() },
      { dataType: 'Unknown', lastSeen: before(45 * DAY).toISOString() },
      { dataType: 'AttackPath', lastSeen: before(60 * DAY).toISOString() },
    ]);

    const byType = (thresholds: typeof THRESHOLDS) =>
      judgeHealth(health, thresholds, NOW)
        .filter((f) => health.dataTypes.some((d) => d.dataType === f.subject))
        .map((f) => [f.subject, f.status, f.text]);
    expect(byType(THRESHOLDS)).toEqual([
      ['SecureScore', 'pass', 'last arrived 3 hours ago'],
      ['SecurityFinding', 'pass', 'last arrived 2 days ago'],
      ['XdrEvent', 'warn', 'last arrived 3 days ago, although Defender XDR streams it constantly'],
      [
        'Recommendation',
        'warn',
        'last arrived 9 days ago, although the export refreshes it at least weekly with snapshots',
      ],
      [
        'Alert',
        'pass',
        'last arrived 30 days ago (sent only when something happens, so days of silence are normal)',
      ],
      ['Unknown', 'pass', expect.stringContaining('45 days ago')],
      ['AttackPath', 'pass', expect.stringContaining('60 days ago')],
    ]);
    const warned = judgeHealth(health, THRESHOLDS, NOW).filter((f) => f.status === 'warn');
    expect(warned.every((f) => f.fix?.includes('defender-export coverage'))).toBe(true);

    // 0 switches a kind's check off.
    expect(
      byType({ staleAfterHours: 0, snapshotStaleAfterDays: 0 }).filter(([, status]) => status !== 'pass'),
    ).toEqual([]);
  });

  it('fail when nothing at all has arrived for longer than staleAfterHours, unless that is 0', async () => {
    const { parking, deadLetters, heartbeat } = stores();
    await heartbeat.record([
      seen('XdrEvent', before(3 * DAY)),
      seen('Recommendation', before(4 * DAY), 'sub-2', true),
    ]);
    const health = await readPipelineHealth({ parking, deadLetters, heartbeat }, NOW);
    expect(finding(judgeHealth(health, THRESHOLDS, NOW), 'incoming data')).toEqual({
      status: 'fail',
      subject: 'incoming data',
      text: 'nothing has arrived since 2026-11-21 10:20 UTC, 3 days ago',
      fix: expect.stringMatching(/Event Hub trigger.*consumer group.*continuous export/),
    });
    expect(finding(judgeHealth(health, { ...THRESHOLDS, staleAfterHours: 0 }, NOW), 'incoming data')).toEqual(
      { status: 'pass', subject: 'incoming data', text: 'data last arrived 3 days ago' },
    );

    await heartbeat.record([seen('Alert', before(12 * MINUTE), 'sub-3')]);
    const fresh = await readPipelineHealth({ parking, deadLetters, heartbeat }, NOW);
    expect(finding(judgeHealth(fresh, THRESHOLDS, NOW), 'incoming data')).toEqual({
      status: 'pass',
      subject: 'incoming data',
      text: 'data last arrived 12 minutes ago',
    });
  });

  it('never read the clock: the same findings with the system clock a year ahead', async () => {
    const { parking, deadLetters, heartbeat, clock } = stores();
    await parking.park(parkedItem(before(3 * HOUR)), before(MINUTE));
    clock.now = before(HOUR);
    await deadLetters.write(origin(), deadLetterRecords(2));
    await heartbeat.record([seen('XdrEvent', before(10 * MINUTE))]);
    const judge = async () =>
      judgeHealth(await readPipelineHealth({ parking, deadLetters, heartbeat }, NOW), THRESHOLDS, NOW);

    const today = await judge();
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date(Date.now() + 365 * DAY));
    expect(await judge()).toEqual(today);
    expect(today.map((f) => f.status)).toEqual(['warn', 'warn', 'pass', 'pass']);
  });
});
