import { DefenderExportError } from './errors';
import { fitRow, type FitResult } from './fit/fit';
import type { Sighting } from './ports';
import { decodeMessage } from './records/decode';
import { normalizeEvent } from './records/normalize';
import type { DataType, RowIdentity } from './records/row';
import type { Router } from './routing/route';

/** What the step needs besides the message: all of it fixed for a batch. */
export interface StepOptions {
  route: Router;
  recordLimit: number;
  /** When Event Hubs enqueued the message (the EventKey, and TimeGenerated for events without a time). */
  enqueuedTimeUtc: string;
  now: () => Date;
  /** Where the original of an event of this type is archived (split and trimmed rows point at it). */
  archiveBlob: (dataType: DataType) => string;
}

/** An event, reduced to what outlives its parsed object. */
export interface EventFacts {
  /** Position of the event in its message. */
  index: number;
  identity: RowIdentity;
  /** The event as JSON.stringify writes it, in UTF-8: the archive line, and the body of its dead letter. */
  bytes: Buffer;
}

/** The event's rows, fitted to the record limit and serialised (UTF-8 JSON, one buffer per row). */
export interface FittedRows {
  outcome: FitResult['outcome'];
  rows: Buffer[];
}

export type StepResult =
  /** Part of the message that cannot become an event; `element` is set when one element of an envelope failed. */
  | { kind: 'rejected'; index?: number; element?: unknown; reason: string }
  /** A fault in our own code met on this event (or message): never bad input, whatever the caller does with it. */
  | { kind: 'fault'; index?: number; element?: unknown; reason: string; error: unknown }
  | { kind: 'dropped'; event: EventFacts; sighting?: Sighting }
  | {
      kind: 'routed';
      event: EventFacts;
      sighting?: Sighting;
      /** Log Analytics streams that take the rows. */
      streams: string[];
      /** The rows for every stream, or why the event cannot have rows (the identity alone breaks the limit). */
      fitted: FittedRows | { error: string };
      /** Whether the original goes to the archive (always when its rows were split or trimmed). */
      archive: boolean;
    };

const CLOSE_BRACE = Buffer.from('}');

const isBadInput = (error: unknown) => error instanceof DefenderExportError && error.isBadInput;

function fault(error: unknown, doing: string): StepResult & { kind: 'fault' } {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return { kind: 'fault', reason: `internal error while ${doing} (a bug: please report it): ${text}`, error };
}

/** Serialises fitted rows once: a whole row reuses the event's bytes, so only its small frame is written. */
function serialise(fitted: FitResult, eventBytes: Buffer): Buffer[] {
  if (fitted.propertiesPrefix !== undefined)
    return [Buffer.concat([Buffer.from(fitted.propertiesPrefix, 'utf8'), eventBytes, CLOSE_BRACE])];
  return fitted.rows.map((row) => Buffer.from(JSON.stringify(row), 'utf8'));
}

/**
 * The synchronous heart of the pipeline, one event at a time: message body → decoded events → classified
 * and normalised → routed → rows fitted and serialised. Once an event's result is taken, its parsed object
 * is no longer referenced. Bad input comes back as `rejected` with its reason; a fault in our own code comes
 * back as `fault`, never filed as bad input, so the caller can fail the batch (the host runs it again) or,
 * on the last attempt, dead-letter the event with that reason.
 */
export function* stepMessage(body: unknown, options: StepOptions): Generator<StepResult> {
  let decoded;
  try {
    decoded = decodeMessage(body);
  } catch (error) {
    yield fault(error, 'decoding the message');
    return;
  }
  for (const rejection of decoded.rejections) yield { kind: 'rejected', ...rejection };
  const events = decoded.events;
  for (let i = 0; i < events.length; i++) {
    const { index, event } = events[i]!;
    (events as unknown[])[i] = undefined; // the parsed object goes with this step, not with the message
    let normalized;
    try {
      normalized = normalizeEvent(event, {
        index,
        enqueuedTimeUtc: options.enqueuedTimeUtc,
        now: options.now,
      });
    } catch (error) {
      yield isBadInput(error)
        ? { kind: 'rejected', index, element: event, reason: (error as Error).message }
        : { ...fault(error, 'normalising'), index, element: event };
      continue;
    }
    const { identity, bytes } = normalized;
    const facts: EventFacts = { index, identity, bytes };
    const sighting: Sighting | undefined = identity.AzureSubscriptionId
      ? {
          subscriptionId: identity.AzureSubscriptionId,
          dataType: identity.DataType,
          snapshot: identity.IsSnapshot,
          lastSeen: new Date(options.enqueuedTimeUtc),
        }
      : undefined;
    let decision;
    try {
      decision = options.route(identity);
    } catch (error) {
      yield { ...fault(error, 'routing'), index, element: event };
      continue;
    }
    if (decision.drop) {
      yield { kind: 'dropped', event: facts, ...(sighting ? { sighting } : {}) };
      continue;
    }
    let fitted: FittedRows | { error: string } | undefined;
    if (decision.streams.length > 0) {
      try {
        const result = fitRow(normalized, {
          limit: options.recordLimit,
          strategy: decision.oversize,
          archiveBlob: options.archiveBlob(identity.DataType),
        });
        fitted = { outcome: result.outcome, rows: serialise(result, bytes) };
      } catch (error) {
        if (!isBadInput(error)) {
          yield { ...fault(error, 'fitting'), index, element: event };
          continue;
        }
        fitted = { error: (error as Error).message };
      }
    }
    yield {
      kind: 'routed',
      event: facts,
      ...(sighting ? { sighting } : {}),
      streams: decision.streams,
      fitted: fitted ?? { outcome: 'whole', rows: [] },
      // A split or trimmed row points at its archived original, so the original is archived whatever the route.
      archive: decision.archive || (fitted !== undefined && 'rows' in fitted && fitted.outcome !== 'whole'),
    };
  }
}
