import { makeRow, type LogsRow } from '../records/row';
import type { CoverageStatus, SubscriptionCoverage } from './model';
import { keyOf } from '../records/eventKey';

/**
 * How bad a gap is, so a log alert rule can pick its threshold. AwaitingData and Unreachable are no gap
 * (model.ts isGap): the alert rule (infra/kql/alert-coverage-gaps.kql) skips them by status, not severity.
 */
const SEVERITY: Record<CoverageStatus, string> = {
  Covered: 'Informational',
  AwaitingData: 'Informational',
  Unreachable: 'Low',
  Stale: 'Medium',
  NoData: 'Medium',
  PartialScope: 'Medium',
  MissingSources: 'Medium',
  Filtered: 'Medium',
  Missing: 'High',
  Disabled: 'High',
  WrongDestination: 'High',
  Unknown: 'High',
};

/**
 * One row per subscription per run in the same table as the events (`DataType == "Coverage"`, the status in
 * `State` and `Category`), so coverage can be charted, joined and alerted on with Azure Monitor log alerts.
 */
export function coverageRow(coverage: SubscriptionCoverage, evaluatedAt: Date, since: string): LogsRow {
  const time = evaluatedAt.toISOString();
  return makeRow(
    {
      TimeGenerated: time,
      DataType: 'Coverage',
      Category: coverage.status,
      RecordId: coverage.subscriptionId,
      EventKey: keyOf(`${coverage.subscriptionId}\n${time}`),
      AzureSubscriptionId: coverage.subscriptionId,
      Severity: SEVERITY[coverage.status],
      State: coverage.status,
      DisplayName: coverage.displayName,
      Action: '',
      IsSnapshot: false,
    },
    { PartIndex: 0, PartCount: 1, PartPath: '', Trimmed: false, OriginalBytes: 0, ArchiveBlob: '' },
    {
      status: coverage.status,
      since,
      findings: coverage.findings,
      qualifying: coverage.qualifying,
      missingSources: coverage.missingSources,
      filtered: coverage.filtered,
      lastSeen: coverage.lastSeen,
    },
  );
}
