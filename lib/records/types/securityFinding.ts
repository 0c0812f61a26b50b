import {
  armId,
  ciObject,
  isoTime,
  optional,
  optionalText,
  parentResourceId,
  parseEvent,
  requiredText,
  severity,
  subscriptionOf,
  text,
} from '../fields';
import type { JsonObject } from '../json';
import type { TypeIdentity } from '../row';
import { enrichmentFields, enrichmentOf } from './enrichment';

/** `Microsoft.Security/assessments/subAssessments`: PascalCase on the Event Hub, camelCase in the REST API. */
const finding = ciObject({
  Id: requiredText,
  TenantId: optionalText,
  ...enrichmentFields,
  Properties: optional(
    ciObject({
      DisplayName: optionalText,
      TimeGenerated: optionalText,
      Status: optional(ciObject({ Code: optionalText, Severity: optionalText })),
      ResourceDetails: optional(ciObject({ Id: optionalText })),
      AdditionalData: optional(ciObject({ AssessedResourceType: optionalText })),
    }),
  ),
});

export function securityFindingIdentity(event: JsonObject): TypeIdentity {
  const f = parseEvent(finding, event, 'SecurityFinding');
  const p = f.Properties;
  // The finding's id nests under the assessed resource; ResourceDetails.Id can name a sub-resource (an image).
  const resourceId = parentResourceId(f.Id) || armId(p?.ResourceDetails?.Id);
  return {
    eventTime: isoTime(p?.TimeGenerated),
    Category: text(p?.AdditionalData?.AssessedResourceType),
    RecordId: armId(f.Id),
    AzureSubscriptionId: subscriptionOf(resourceId, f.Id),
    Severity: severity(p?.Status?.Severity),
    State: text(p?.Status?.Code),
    DisplayName: text(p?.DisplayName),
    ...enrichmentOf(f),
  };
}
