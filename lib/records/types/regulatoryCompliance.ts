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

const compliance = ciObject({
  id: requiredText,
  tenantId: optionalText,
  ...enrichmentFields,
  properties: optional(ciObject({ description: optionalText, state: optionalText })),
});

const STANDARD_IN_ID = /\/regulatoryComplianceStandards\/([^/]+)/i;
const STATES: Record<string, string> = {
  passed: 'Passed',
  failed: 'Failed',
  skipped: 'Skipped',
  unsupported: 'Unsupported',
};

/** The id holds the standard and control; Category carries the standard so reports can group by it. */
export function regulatoryComplianceIdentity(event: JsonObject): TypeIdentity {
  const c = parseEvent(compliance, event, 'RegulatoryCompliance');
  const state = c.properties?.state;
  return {
    Category: text(STANDARD_IN_ID.exec(c.id)?.[1]),
    RecordId: armId(c.id),
    AzureSubscriptionId: subscriptionOf(c.id),
    Severity: '',
    State: state === undefined ? '' : (STATES[state.toLowerCase()] ?? text(state)),
    DisplayName: text(c.properties?.description),
    ...enrichmentOf(c),
  };
}
