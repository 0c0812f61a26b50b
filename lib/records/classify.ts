import type { JsonObject } from './json';
import type { DataType } from './row';

/** ARM resource types (lower-cased) and the data type each one is. */
const BY_RESOURCE_TYPE: Record<string, DataType> = {
  'microsoft.security/locations/alerts': 'Alert',
  'microsoft.security/assessments': 'Recommendation',
  'microsoft.security/assessments/subassessments': 'SecurityFinding',
  'microsoft.security/securescores': 'SecureScore',
  'microsoft.security/securescores/securescorecontrols': 'SecureScoreControl',
  'microsoft.security/regulatorycompliancestandards/regulatorycompliancecontrols/regulatorycomplianceassessments':
    'RegulatoryCompliance',
  // The REST API's own spelling of the same resource.
  'microsoft.security/regulatorycomplianceassessment': 'RegulatoryCompliance',
  'microsoft.security/attackpaths': 'AttackPath',
};

const XDR_CATEGORY = /^AdvancedHunting-/i;

/** Reads a top-level field whatever its casing. */
function field(event: JsonObject, name: string): unknown {
  if (Object.hasOwn(event, name)) return event[name];
  const lower = name.toLowerCase();
  for (const key of Object.keys(event)) if (key.toLowerCase() === lower) return event[key];
  return undefined;
}

/**
 * Which Defender data type an event is, by the marks FACTS.md §1 lists: the ARM `type`, the XDR
 * `category`, or the flat alert's `SystemAlertId`/`AlertType`. Everything else is Unknown (and still delivered).
 */
export function classify(event: JsonObject): DataType {
  const type = field(event, 'type');
  if (typeof type === 'string') {
    const known = BY_RESOURCE_TYPE[type.trim().toLowerCase()];
    if (known) return known;
  }
  const category = field(event, 'category');
  if (typeof category === 'string' && XDR_CATEGORY.test(category)) return 'XdrEvent';
  if (
    type === undefined &&
    (field(event, 'SystemAlertId') !== undefined || field(event, 'AlertType') !== undefined)
  ) {
    return 'Alert';
  }
  return 'Unknown';
}

/** The alerts API wraps an alert as an ARM resource; continuous export sends it flat. */
export function isArmShaped(event: JsonObject): boolean {
  return typeof field(event, 'type') === 'string' && typeof field(event, 'id') === 'string';
}
