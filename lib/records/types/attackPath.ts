import { z } from 'zod';
import { InvalidEventError } from '../../errors';
import {
  armId,
  ciObject,
  optional,
  optionalText,
  parseEvent,
  severity,
  subscriptionOf,
  text,
} from '../fields';
import type { JsonObject } from '../json';
import type { TypeIdentity } from '../row';
import { enrichmentFields, enrichmentOf } from './enrichment';

const attackPathFields = {
  displayName: optionalText,
  riskLevel: optionalText,
  riskCategories: optional(z.array(z.string())),
  attackPathId: optionalText,
};

/**
 * `microsoft.security/attackpaths`. No Event Hub sample exists: accept the ARM wrapper (`properties{...}`)
 * and the flat shape Resource Graph shows, reading each field from wherever it is.
 */
const attackPath = ciObject({
  id: optionalText,
  tenantId: optionalText,
  ...enrichmentFields,
  ...attackPathFields,
  properties: optional(ciObject(attackPathFields)),
});

export function attackPathIdentity(event: JsonObject): TypeIdentity {
  const a = parseEvent(attackPath, event, 'AttackPath');
  const p = a.properties;
  const recordId = armId(a.id) || text(a.attackPathId ?? p?.attackPathId).toLowerCase();
  if (!recordId) throw new InvalidEventError('AttackPath lacks id (or attackPathId)');
  return {
    Category: text((a.riskCategories ?? p?.riskCategories)?.join(',')),
    RecordId: recordId,
    AzureSubscriptionId: subscriptionOf(a.id),
    Severity: severity(a.riskLevel ?? p?.riskLevel),
    State: '',
    DisplayName: text(a.displayName ?? p?.displayName),
    ...enrichmentOf(a),
  };
}
