import { armId, ciObject, optionalText, parseEvent, subscriptionOf, text } from '../fields';
import type { JsonObject } from '../json';
import type { TypeIdentity } from '../row';

const anything = ciObject({ id: optionalText, type: optionalText, tenantId: optionalText });

/** An object we cannot classify is still delivered, with whatever identity it offers. */
export function unknownIdentity(event: JsonObject): TypeIdentity {
  const u = parseEvent(anything, event, 'Unknown');
  return {
    Category: text(u.type),
    RecordId: u.id === undefined ? undefined : armId(u.id),
    AzureSubscriptionId: subscriptionOf(u.id),
    Severity: '',
    State: '',
    DisplayName: '',
    Action: '',
    IsSnapshot: false,
  };
}
