import {
  armId,
  ciObject,
  optional,
  optionalText,
  parseEvent,
  requiredText,
  subscriptionOf,
  text,
} from '../fields';
import type { JsonObject } from '../json';
import type { TypeIdentity } from '../row';
import { enrichmentFields, enrichmentOf } from './enrichment';

/** `Microsoft.Security/secureScores` and `.../secureScoreControls` share the ARM wrapper. */
const score = ciObject({
  id: requiredText,
  tenantId: optionalText,
  ...enrichmentFields,
  properties: optional(ciObject({ displayName: optionalText })),
});

function scoreIdentity(event: JsonObject, dataType: string): TypeIdentity {
  const s = parseEvent(score, event, dataType);
  return {
    Category: '',
    RecordId: armId(s.id),
    AzureSubscriptionId: subscriptionOf(s.id),
    Severity: '',
    State: '',
    DisplayName: text(s.properties?.displayName),
    ...enrichmentOf(s),
  };
}

export const secureScoreIdentity = (event: JsonObject) => scoreIdentity(event, 'SecureScore');
export const secureScoreControlIdentity = (event: JsonObject) => scoreIdentity(event, 'SecureScoreControl');
