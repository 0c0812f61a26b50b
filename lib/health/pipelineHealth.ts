import { ago, utcMinute } from '../coverage/report';
import type { DeadLetterStore, HeartbeatStore, ParkingStore } from '../ports';
import type { DataType } from '../records/row';

/**
 * Whether the pipeline delivers, read from what it leaves behind: the parked backlog, recent dead letters
 * and the heartbeat. Shared by the `doctor` command and the reconcile timer. The time is always passed in:
 * a reading and its judgement say the same whenever they are made.
 */

export interface PipelineHealthStores {
  parking: ParkingStore;
  deadLetters: DeadLetterStore;
  heartbeat: HeartbeatStore;
}

export interface PipelineHealth {
  checkedAt: string;
  /** `oldest` is when the longest-waiting item was first parked (ISO), when the store knows it. */
  parked: { items: number; oldest?: string; dueNow: number };
  /** Dead-letter blobs written since `since` (DEAD_LETTER_WINDOW_MS before checkedAt) and their records. */
  deadLetters: { since: string; blobs: number; records: number };
  /** The Defender data types ever seen, newest first. */
  dataTypes: Array<{ dataType: DataType; lastSeen: string }>;
}

export interface HealthFinding {
  status: 'pass' | 'warn' | 'fail';
  subject: string;
  text: string;
  fix?: string;
}

/** Silence thresholds, as coverage has them (COVERAGE_STALE_AFTER_HOURS, COVERAGE_SNAPSHOT_STALE_AFTER_DAYS); 0 = off. */
export interface HealthThresholds {
  staleAfterHours: number;
  snapshotStaleAfterDays: number;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** Dead letters are counted over the last day: long enough to span a night, short enough to clear once fixed. */
export const DEAD_LETTER_WINDOW_MS = DAY_MS;

/**
 * A parked item waiting longer than this fails: the redrive has retried the destination for a day without
 * success, so it will not recover by itself. Anything younger is a backlog the redrive is working through.
 */
export const PARKED_FAIL_AFTER_MS = DAY_MS;

interface SilenceRule {
  /** How long the data type may stay silent before a warning; 0 never warns. */
  limitMs: (thresholds: HealthThresholds) => number;
  /** Why, as the finding says it. */
  why: string;
}

const SNAPSHOT: SilenceRule = {
  limitMs: (t) => t.snapshotStaleAfterDays * DAY_MS,
  why: 'the export refreshes it at least weekly with snapshots',
};
const STREAMING: SilenceRule = {
  limitMs: (t) => t.staleAfterHours * HOUR_MS,
  why: 'Defender XDR streams it constantly',
};
const QUIET: SilenceRule = {
  limitMs: () => 0,
  why: 'sent only when something happens, so days of silence are normal',
};

/**
 * How long each Defender data type may stay silent. Only Defender's data types are listed: the rows this app
 * writes itself (Coverage and the like) say nothing about whether Defender's data flows, and are left out.
 */
const SILENCE_RULES: Readonly<Partial<Record<DataType, SilenceRule>>> = {
  Recommendation: SNAPSHOT,
  SecurityFinding: SNAPSHOT,
  SecureScore: SNAPSHOT,
  SecureScoreControl: SNAPSHOT,
  RegulatoryCompliance: SNAPSHOT,
  XdrEvent: STREAMING,
  Alert: QUIET,
  AttackPath: QUIET,
  Unknown: QUIET,
};

const silenceRule = (dataType: DataType): SilenceRule | undefined =>
  Object.hasOwn(SILENCE_RULES, dataType) ? SILENCE_RULES[dataType] : undefined;

/** Reads the backlog, the last day's dead letters and the heartbeat, as of `now`. */
export async function readPipelineHealth(stores: PipelineHealthStores, now: Date): Promise<PipelineHealth> {
  const since = new Date(now.getTime() - DEAD_LETTER_WINDOW_MS);
  const [parked, deadLetters, lastSeen] = await Promise.all([
    readParked(stores.parking, now),
    stores.deadLetters.recent(since),
    stores.heartbeat.lastSeenByDataType(),
  ]);
  const dataTypes = [...lastSeen]
    .filter(([dataType]) => silenceRule(dataType) !== undefined)
    .sort(([, a], [, b]) => b.getTime() - a.getTime())
    .map(([dataType, seen]) => ({ dataType, lastSeen: seen.toISOString() }));
  return {
    checkedAt: now.toISOString(),
    parked,
    deadLetters: { since: since.toISOString(), ...deadLetters },
    dataTypes,
  };
}

async function readParked(parking: ParkingStore, now: Date): Promise<PipelineHealth['parked']> {
  let items = 0;
  let dueNow = 0;
  let oldest: Date | undefined;
  for await (const ref of parking.list()) {
    items++;
    if (ref.nextAttemptAt <= now) dueNow++;
    if (ref.firstParkedAt && (!oldest || ref.firstParkedAt < oldest)) oldest = ref.firstParkedAt;
  }
  return { items, ...(oldest ? { oldest: oldest.toISOString() } : {}), dueNow };
}

/** `1 item`, `2 items`. (lib/cli/text.ts has the same; lib/health does not import the command line.) */
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

const ageMs = (iso: string, now: Date) => now.getTime() - new Date(iso).getTime();

/** Judges a reading: one finding for the backlog, one for dead letters, one for the whole flow, one per data type. */
export function judgeHealth(
  health: PipelineHealth,
  thresholds: HealthThresholds,
  now: Date,
): HealthFinding[] {
  return [
    judgeParked(health.parked, now),
    judgeDeadLetters(health.deadLetters),
    judgeFlow(health.dataTypes, thresholds, now),
    ...health.dataTypes.flatMap((seen) => judgeDataType(seen, thresholds, now)),
  ];
}

function judgeParked(parked: PipelineHealth['parked'], now: Date): HealthFinding {
  const subject = 'parked items';
  if (parked.items === 0) return { status: 'pass', subject, text: 'nothing parked' };
  const waiting = `${plural(parked.items, 'parked item')} waiting`;
  const retried = 'the redrive retries them on REDRIVE_SCHEDULE';
  if (!parked.oldest)
    return { status: 'warn', subject, text: waiting, fix: `See each parked blob's lastError; ${retried}.` };
  const text = `${waiting}, oldest parked ${ago(parked.oldest, now.toISOString())}`;
  if (ageMs(parked.oldest, now) > PARKED_FAIL_AFTER_MS)
    return {
      status: 'fail',
      subject,
      text: `${text}: the destination has been failing for over a day`,
      fix: `See each parked blob's lastError and fix the destination; ${retried} and dead-letter them after REDRIVE_MAX_AGE_HOURS.`,
    };
  return { status: 'warn', subject, text, fix: `See each parked blob's lastError; ${retried}.` };
}

function judgeDeadLetters(deadLetters: PipelineHealth['deadLetters']): HealthFinding {
  const subject = 'dead letters';
  if (deadLetters.records === 0 && deadLetters.blobs === 0)
    return { status: 'pass', subject, text: 'nothing dead-lettered in the last 24 hours' };
  return {
    status: 'warn',
    subject,
    text: `${plural(deadLetters.records, 'record')} dead-lettered in the last 24 hours (${plural(deadLetters.blobs, 'blob')})`,
    fix: 'Read them in the dead-letter container (setting DEADLETTER_CONTAINER): each record holds its reason.',
  };
}

/** The pipeline as a whole: has anything arrived, and lately. */
function judgeFlow(
  dataTypes: PipelineHealth['dataTypes'],
  thresholds: HealthThresholds,
  now: Date,
): HealthFinding {
  const subject = 'incoming data';
  const fix =
    'Check the Event Hub triggers (EventHubConnection, DEFENDER_CLOUD_EVENTHUB, DEFENDER_XDR_EVENTHUB), ' +
    'their consumer group (EVENTHUB_CONSUMER_GROUP) and that continuous export sends to the hub.';
  const newest = dataTypes.reduce<string | undefined>(
    (latest, { lastSeen }) => (!latest || lastSeen > latest ? lastSeen : latest),
    undefined,
  );
  if (!newest) return { status: 'warn', subject, text: 'no data has arrived yet', fix };
  const when = ago(newest, now.toISOString());
  const limitMs = thresholds.staleAfterHours * HOUR_MS;
  if (limitMs > 0 && ageMs(newest, now) > limitMs)
    return { status: 'fail', subject, text: `nothing has arrived since ${utcMinute(newest)}, ${when}`, fix };
  return { status: 'pass', subject, text: `data last arrived ${when}` };
}

function judgeDataType(
  { dataType, lastSeen }: PipelineHealth['dataTypes'][number],
  thresholds: HealthThresholds,
  now: Date,
): HealthFinding[] {
  const rule = silenceRule(dataType);
  if (!rule) return [];
  const text = `last arrived ${ago(lastSeen, now.toISOString())}`;
  const limitMs = rule.limitMs(thresholds);
  if (limitMs > 0 && ageMs(lastSeen, now) > limitMs)
    return [
      {
        status: 'warn',
        subject: dataType,
        text: `${text}, although ${rule.why}`,
        fix: 'Run `defender-export coverage` to see which subscriptions went silent and why.',
      },
    ];
  return [{ status: 'pass', subject: dataType, text: rule === QUIET ? `${text} (${rule.why})` : text }];
}
