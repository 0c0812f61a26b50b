import type { DataType } from '../records/row';

/** The `eventSource` values of a `Microsoft.Security/automations` source (API 2023-12-01-preview). */
export const EVENT_SOURCES = [
  'Alerts',
  'Assessments',
  'AssessmentsSnapshot',
  'SubAssessments',
  'SubAssessmentsSnapshot',
  'SecureScores',
  'SecureScoresSnapshot',
  'SecureScoreControls',
  'SecureScoreControlsSnapshot',
  'RegulatoryComplianceAssessment',
  'RegulatoryComplianceAssessmentSnapshot',
  'AttackPaths',
  'AttackPathsSnapshot',
] as const;
export type EventSource = (typeof EVENT_SOURCES)[number];

/** What the built-in policy exports, plus the weekly snapshots (alerts have no snapshot twin); attack paths are opt-in. */
export const DEFAULT_REQUIRED_SOURCES: readonly EventSource[] = EVENT_SOURCES.filter(
  (source) => !source.startsWith('AttackPaths'),
);

/** The data type (and snapshot flag) the pipeline records in the heartbeat for each source. */
export function sourceDataType(source: EventSource): { dataType: DataType; snapshot: boolean } {
  const snapshot = source.endsWith('Snapshot');
  const base = snapshot ? source.slice(0, -'Snapshot'.length) : source;
  const dataType: Record<string, DataType> = {
    Alerts: 'Alert',
    Assessments: 'Recommendation',
    SubAssessments: 'SecurityFinding',
    SecureScores: 'SecureScore',
    SecureScoreControls: 'SecureScoreControl',
    RegulatoryComplianceAssessment: 'RegulatoryCompliance',
    AttackPaths: 'AttackPath',
  };
  return { dataType: dataType[base]!, snapshot };
}

/** Sources whose events carry a severity a rule can filter on. */
export const SEVERITY_SOURCES = new Set<string>([
  'Alerts',
  'Assessments',
  'AssessmentsSnapshot',
  'SubAssessments',
  'SubAssessmentsSnapshot',
  'AttackPaths',
  'AttackPathsSnapshot',
]);
