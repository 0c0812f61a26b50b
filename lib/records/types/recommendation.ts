import { z } from 'zod';
import {
  armId,
  ciObject,
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

/** `Microsoft.Security/assessments`, camelCase ARM resource plus the export's enrichment. */
const recommendation = ciObject({
  id: requiredText,
  tenantId: optionalText,
  ...enrichmentFields,
  properties: optional(
    ciObject({
      displayName: optionalText,
      resourceDetails: optional(ciObject({ id: optionalText, ResourceId: optionalText })),
      status: optional(ciObject({ code: optionalText })),
      metadata: optional(
        ciObject({
          displayName: optionalText,
          severity: optionalText,
          categories: optional(z.array(z.string())),
        }),
      ),
    }),
  ),
});

export function recommendationIdentity(event: JsonObject): TypeIdentity {
  const r = parseEvent(recommendation, event, 'Recommendation');
  const p = r.properties;
  const resourceId =
    armId(p?.resourceDetails?.id ?? p?.resourceDetails?.ResourceId) || parentResourceId(r.id);
  return {
    Category: text(p?.metadata?.categories?.join(',')),
    RecordId: armId(r.id),
    AzureSubscriptionId: subscriptionOf(resourceId, r.id),
    Severity: severity(p?.metadata?.severity),
    State: text(p?.status?.code),
    DisplayName: text(p?.displayName ?? p?.metadata?.displayName),
    ...enrichmentOf(r),
  };
}
