import { z } from 'zod';
import {
  ciObject,
  isoTime,
  optional,
  optionalText,
  parseEvent,
  requiredText,
  severity,
  subscriptionOf,
  text,
} from '../fields';
import type { JsonObject } from '../json';
import type { TypeIdentity } from '../row';

const idText = optional(z.union([z.string(), z.number()]).transform(String));

/** One record of the Defender XDR streaming API: `{time, tenantId, category: "AdvancedHunting-<Table>", properties}`. */
const xdrRecord = ciObject({
  category: requiredText,
  tenantId: optionalText,
  time: optionalText,
  properties: ciObject({
    Timestamp: optionalText,
    ReportId: idText,
    DeviceId: optionalText,
    AlertId: optionalText,
    NetworkMessageId: optionalText,
    Severity: optionalText,
    Title: optionalText,
    ActionType: optionalText,
    AzureResourceId: optionalText,
  }),
});

const TABLE_PREFIX = /^AdvancedHunting-/i;

export function xdrEventIdentity(event: JsonObject): TypeIdentity {
  const x = parseEvent(xdrRecord, event, 'XdrEvent');
  const p = x.properties;
  // Advanced hunting has no global event id: alerts and mail have their own; device events are unique
  // per device and ReportId. Without any of these the row falls back to the EventKey.
  const recordId =
    p.AlertId ??
    p.NetworkMessageId ??
    (p.ReportId === undefined ? undefined : [p.DeviceId, p.ReportId].filter(Boolean).join(':'));
  return {
    // `properties.Timestamp` is when it happened; `time` is when Defender received it.
    eventTime: isoTime(p.Timestamp) ?? isoTime(x.time),
    Category: text(x.category.replace(TABLE_PREFIX, '')),
    RecordId: recordId === undefined ? undefined : text(recordId),
    AzureSubscriptionId: subscriptionOf(p.AzureResourceId),
    Severity: severity(p.Severity),
    State: '',
    DisplayName: text(p.Title ?? p.ActionType),
    Action: '',
    IsSnapshot: false,
  };
}
