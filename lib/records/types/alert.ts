import { enrichmentFields, enrichmentOf } from './enrichment';
import { z } from 'zod';
import { InvalidEventError } from '../../errors';
import {
  bareSubscription,
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

const resourceIdentifier = optional(
  ciObject({
    Type: optionalText,
    AzureResourceId: optionalText,
    AzureResourceTenantId: optionalText,
    AadTenantId: optionalText,
  }),
);
const extendedProperties = optional(
  ciObject({ EffectiveSubscriptionId: optionalText, EffectiveAzureResourceId: optionalText }),
);

/** What continuous export really sends: a flat PascalCase object. */
const flatAlert = ciObject({
  SystemAlertId: requiredText,
  AlertType: optionalText,
  AlertDisplayName: optionalText,
  Severity: optionalText,
  Status: optionalText,
  TimeGenerated: optionalText,
  StartTimeUtc: optionalText,
  AzureResourceId: optionalText,
  AzureResourceSubscriptionId: optionalText,
  TenantId: optionalText,
  ExtendedProperties: extendedProperties,
  ResourceIdentifiers: optional(z.array(resourceIdentifier)),
});

/** What the export documentation promises: the alerts API's ARM resource (`Microsoft.Security/locations/alerts`). */
// The alerts API's shape; continuous export sends alerts flat. A backfill (lib/backfill) sends this shape
// with the enrichment the other types carry, which says it is a snapshot.
const armAlert = ciObject({
  id: requiredText,
  name: optionalText,
  ...enrichmentFields,
  properties: ciObject({
    systemAlertId: optionalText,
    alertType: optionalText,
    alertDisplayName: optionalText,
    severity: optionalText,
    status: optionalText,
    timeGeneratedUtc: optionalText,
    startTimeUtc: optionalText,
    extendedProperties,
    resourceIdentifiers: optional(z.array(resourceIdentifier)),
  }),
});

type ResourceIdentifier = z.output<typeof resourceIdentifier>;

function fromResourceIdentifiers(identifiers: ResourceIdentifier[] | undefined) {
  const azure = identifiers?.find((r) => r?.Type?.toLowerCase() === 'azureresource');
  return { resourceId: azure?.AzureResourceId };
}

export function flatAlertIdentity(event: JsonObject): TypeIdentity {
  const alert = parseEvent(flatAlert, event, 'Alert');
  const identifiers = fromResourceIdentifiers(alert.ResourceIdentifiers);
  const resourceId =
    alert.AzureResourceId ?? alert.ExtendedProperties?.EffectiveAzureResourceId ?? identifiers.resourceId;
  return {
    eventTime: isoTime(alert.TimeGenerated) ?? isoTime(alert.StartTimeUtc),
    Category: text(alert.AlertType),
    RecordId: alert.SystemAlertId,
    AzureSubscriptionId:
      subscriptionOf(resourceId) ||
      bareSubscription(alert.AzureResourceSubscriptionId) ||
      bareSubscription(alert.ExtendedProperties?.EffectiveSubscriptionId) ||
      subscriptionOf(identifiers.resourceId),
    Severity: severity(alert.Severity),
    State: text(alert.Status),
    DisplayName: text(alert.AlertDisplayName),
    Action: '',
    IsSnapshot: false,
  };
}

export function armAlertIdentity(event: JsonObject): TypeIdentity {
  const alert = parseEvent(armAlert, event, 'Alert');
  const p = alert.properties;
  const recordId = p.systemAlertId ?? alert.name ?? alert.id.split('/').pop();
  if (!recordId) throw new InvalidEventError('Alert lacks properties.systemAlertId');
  const identifiers = fromResourceIdentifiers(p.resourceIdentifiers);
  const resourceId = identifiers.resourceId ?? p.extendedProperties?.EffectiveAzureResourceId;
  return {
    eventTime: isoTime(p.timeGeneratedUtc) ?? isoTime(p.startTimeUtc),
    Category: text(p.alertType),
    RecordId: recordId,
    AzureSubscriptionId:
      subscriptionOf(resourceId, alert.id) || bareSubscription(p.extendedProperties?.EffectiveSubscriptionId),
    Severity: severity(p.severity),
    State: text(p.status),
    DisplayName: text(p.alertDisplayName),
    ...enrichmentOf(alert),
  };
}
