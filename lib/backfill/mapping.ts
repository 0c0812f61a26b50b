import type { GraphRecord } from '../azure/resourceGraph';
import { InvalidEventError } from '../errors';

/** The Defender for Cloud data types a backfill reads from Azure Resource Graph (`securityresources`). */
export const BACKFILL_DATA_TYPES = [
  'Alert',
  'Recommendation',
  'SecurityFinding',
  'SecureScore',
  'SecureScoreControl',
  'RegulatoryCompliance',
  'AttackPath',
] as const;
export type BackfillDataType = (typeof BACKFILL_DATA_TYPES)[number];

export interface GraphType {
  /** The `type` column of `securityresources`, as Resource Graph writes it (lower-case). */
  resourceType: string;
  /** The continuous-export `eventSource` that streams the same data (`<eventSource>Snapshot` for the weekly snapshot). */
  eventSource: string;
  /** properties path of the time `--since` filters on, alerts only */
  sinceField?: string;
}

/** The Resource Graph resource type (lower-case) and the continuous-export eventSource for each. */
export const GRAPH_TYPES: Record<BackfillDataType, GraphType> = {
  // Resource Graph holds alert properties PascalCase (Microsoft's sample queries read properties.Status,
  // properties.SystemAlertId), unlike the alerts REST API; see docs/backfill-mapping.md.
  Alert: {
    resourceType: 'microsoft.security/locations/alerts',
    eventSource: 'Alerts',
    sinceField: 'TimeGeneratedUtc',
  },
  Recommendation: { resourceType: 'microsoft.security/assessments', eventSource: 'Assessments' },
  SecurityFinding: {
    resourceType: 'microsoft.security/assessments/subassessments',
    eventSource: 'SubAssessments',
  },
  SecureScore: { resourceType: 'microsoft.security/securescores', eventSource: 'SecureScores' },
  SecureScoreControl: {
    resourceType: 'microsoft.security/securescores/securescorecontrols',
    eventSource: 'SecureScoreControls',
  },
  RegulatoryCompliance: {
    resourceType:
      'microsoft.security/regulatorycompliancestandards/regulatorycompliancecontrols/regulatorycomplianceassessments',
    eventSource: 'RegulatoryComplianceAssessment',
  },
  AttackPath: { resourceType: 'microsoft.security/attackpaths', eventSource: 'AttackPaths' },
};

/** One row of `securityresources`. Only `id`, `name`, `tenantId` and `properties` are carried over. */
export type { GraphRecord };

/** `securityEventDataEnrichment.source` on every backfilled event: how a user tells it from a streamed one. */
export const BACKFILL_SOURCE = 'Backfill';

interface ExportShape {
  /** The resource type in ARM casing, as the export's events spell it. */
  armType: string;
  /** The REST API version whose resource shape the record has; attack paths have no published REST API. */
  apiVersion?: string;
  /** Whether the streamed events carry `tenantId` (the Event Hub samples of secure score controls and compliance do not). */
  tenantId: boolean;
  /** The older per-type enrichment object the streamed events carry beside `securityEventDataEnrichment`. */
  typeEnrichment?: 'assessmentEventDataEnrichment' | 'subAssessmentEventDataEnrichment';
}

const EXPORT_SHAPES: Record<BackfillDataType, ExportShape> = {
  Alert: { armType: 'Microsoft.Security/locations/alerts', apiVersion: '2022-01-01', tenantId: false },
  Recommendation: {
    armType: 'Microsoft.Security/assessments',
    apiVersion: '2021-06-01',
    tenantId: true,
    typeEnrichment: 'assessmentEventDataEnrichment',
  },
  // Streamed PascalCase (`Id`, `Properties`), but the finding's normaliser folds case at every level, so
  // the record keeps Resource Graph's camelCase.
  SecurityFinding: {
    armType: 'Microsoft.Security/assessments/subAssessments',
    apiVersion: '2019-01-01-preview',
    tenantId: true,
    typeEnrichment: 'subAssessmentEventDataEnrichment',
  },
  SecureScore: { armType: 'Microsoft.Security/secureScores', apiVersion: '2020-01-01', tenantId: false },
  SecureScoreControl: {
    armType: 'Microsoft.Security/secureScores/secureScoreControls',
    apiVersion: '2020-01-01',
    tenantId: false,
  },
  RegulatoryCompliance: {
    armType:
      'Microsoft.Security/regulatoryComplianceStandards/regulatoryComplianceControls/regulatoryComplianceAssessments',
    apiVersion: '2019-01-01-preview',
    tenantId: false,
  },
  AttackPath: { armType: 'Microsoft.Security/attackPaths', tenantId: true },
};

function enrichment(apiVersion: string | undefined): Record<string, unknown> {
  return apiVersion === undefined
    ? { action: 'Insert', isSnapshot: true, source: BACKFILL_SOURCE }
    : { action: 'Insert', apiVersion, isSnapshot: true, source: BACKFILL_SOURCE };
}

/**
 * The event continuous export would send for this resource, marked as backfilled. Deterministic: the same
 * record gives the same JSON (same key order), so EventKeys repeat. Keys are written in one fixed order
 * whatever the record's order; nested values are the record's own (shared, not copied). Resource Graph's
 * own columns (subscriptionId, resourceGroup, location, kind, sku, tags, ...) and any column a query adds
 * are left out: the export does not send them. Throws InvalidEventError when the record is not of `dataType`.
 */
export function toExportEvent(dataType: BackfillDataType, record: GraphRecord): Record<string, unknown> {
  const { resourceType } = GRAPH_TYPES[dataType];
  if (typeof record.type !== 'string' || record.type.trim().toLowerCase() !== resourceType)
    throw new InvalidEventError(
      `${dataType} backfill expects Resource Graph type ${resourceType}, got ${JSON.stringify(record.type)}`,
    );
  const shape = EXPORT_SHAPES[dataType];
  const event: Record<string, unknown> = {};
  if (shape.typeEnrichment) event[shape.typeEnrichment] = enrichment(shape.apiVersion);
  event.securityEventDataEnrichment = enrichment(shape.apiVersion);
  if (shape.tenantId && record.tenantId !== undefined) event.tenantId = record.tenantId;
  event.id = record.id;
  if (record.name !== undefined) event.name = record.name;
  event.type = shape.armType;
  if (record.properties !== undefined) event.properties = record.properties;
  return event;
}
