import { randomUUID } from 'node:crypto';
import { makeRow, type LogsRow } from '../records/row';

/**
 * The row `doctor --probe` sends: every column of the row, so a stream that does not match is refused or
 * shows in the table; `DataType == "Probe"` so queries can leave it out (DefenderExportLatest does).
 */
export function probeRow(now: Date): LogsRow {
  const id = randomUUID();
  return makeRow(
    {
      TimeGenerated: now.toISOString(),
      DataType: 'Probe',
      Category: 'doctor',
      RecordId: id,
      EventKey: id.replace(/-/g, ''),
      AzureSubscriptionId: '',
      Severity: 'Informational',
      State: 'Probe',
      DisplayName: 'defender-export doctor --probe',
      Action: '',
      IsSnapshot: false,
    },
    { PartIndex: 0, PartCount: 1, PartPath: '', Trimmed: false, OriginalBytes: 0, ArchiveBlob: '' },
    { probe: true, sentAt: now.toISOString() },
  );
}
