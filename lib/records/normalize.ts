import { InvalidEventError } from '../errors';
import { classify, isArmShaped } from './classify';
import { decodeMessage, type Rejection } from './decode';
import { eventKey, recordKey } from './eventKey';
import { isoTime } from './fields';
import type { JsonObject } from './json';
import type { DataType, RowIdentity, TypeIdentity } from './row';
import { armAlertIdentity, flatAlertIdentity } from './types/alert';
import { attackPathIdentity } from './types/attackPath';
import { recommendationIdentity } from './types/recommendation';
import { regulatoryComplianceIdentity } from './types/regulatoryCompliance';
import { secureScoreControlIdentity, secureScoreIdentity } from './types/secureScore';
import { securityFindingIdentity } from './types/securityFinding';
import { unknownIdentity } from './types/unknown';
import { xdrEventIdentity } from './types/xdrEvent';

const IDENTIFY: Record<DataType, (event: JsonObject) => TypeIdentity> = {
  Alert: (event) => (isArmShaped(event) ? armAlertIdentity(event) : flatAlertIdentity(event)),
  Recommendation: recommendationIdentity,
  SecurityFinding: securityFindingIdentity,
  SecureScore: secureScoreIdentity,
  SecureScoreControl: secureScoreControlIdentity,
  RegulatoryCompliance: regulatoryComplianceIdentity,
  AttackPath: attackPathIdentity,
  XdrEvent: xdrEventIdentity,
  Unknown: unknownIdentity,
  // Never classified from an event: these rows are made by the reconciler and the doctor.
  Coverage: unknownIdentity,
  PipelineHealth: unknownIdentity,
  Probe: unknownIdentity,
};

export interface EventContext {
  /** Position of the event in its message. */
  index: number;
  /** When Event Hubs enqueued the message, if known. */
  enqueuedTimeUtc?: string | undefined;
  /** The clock, for events with neither their own time nor an enqueued time. */
  now?: () => Date;
}

export interface NormalizedEvent {
  /** Position of the event in its message. */
  index: number;
  identity: RowIdentity;
  event: JsonObject;
  /** The event as JSON.stringify writes it. */
  json: string;
  /** `json` as UTF-8: hashed for the EventKey, measured for the record limit, and what rows and the archive carry. */
  bytes: Buffer;
}

/** Classifies an event and fills the row's identity columns. Throws InvalidEventError with the reason. */
export function normalizeEvent(event: JsonObject, context: EventContext): NormalizedEvent {
  const dataType = classify(event);
  const { eventTime, RecordId, ...columns } = IDENTIFY[dataType](event);
  const json = JSON.stringify(event);
  const bytes = Buffer.from(json, 'utf8');
  const enqueued = isoTime(context.enqueuedTimeUtc);
  const key = eventKey(bytes, context.index, enqueued);
  const identity: RowIdentity = {
    TimeGenerated: eventTime ?? enqueued ?? (context.now?.() ?? new Date()).toISOString(),
    DataType: dataType,
    Category: columns.Category,
    RecordId: RecordId ? recordKey(RecordId) : key,
    EventKey: key,
    AzureSubscriptionId: columns.AzureSubscriptionId,
    Severity: columns.Severity,
    State: columns.State,
    DisplayName: columns.DisplayName,
    Action: columns.Action,
    IsSnapshot: columns.IsSnapshot,
  };
  return { index: context.index, identity, event, json, bytes };
}

export interface MessageContext {
  enqueuedTimeUtc?: string | undefined;
  now?: () => Date;
}

export interface NormalizedMessage {
  events: NormalizedEvent[];
  /** What could not become an event, each with a reason; `element` is set when one element of an envelope failed. */
  rejections: Rejection[];
}

/**
 * Decodes one Event Hub message body and normalises every event in it. One bad event never costs its
 * neighbours: it becomes a rejection with the reason, and the rest carry on.
 */
export function normalizeMessage(body: unknown, context: MessageContext = {}): NormalizedMessage {
  const decoded = decodeMessage(body);
  const result: NormalizedMessage = { events: [], rejections: [...decoded.rejections] };
  for (const { index, event } of decoded.events) {
    try {
      result.events.push(normalizeEvent(event, { ...context, index }));
    } catch (error) {
      if (!(error instanceof InvalidEventError)) throw error; // a fault of ours is not bad input
      result.rejections.push({ index, element: event, reason: error.reason });
    }
  }
  return result;
}
