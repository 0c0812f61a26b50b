/** The data types a Defender event is classified into. */
export const DATA_TYPES = [
  'Alert',
  'Recommendation',
  'SecurityFinding',
  'SecureScore',
  'SecureScoreControl',
  'RegulatoryCompliance',
  'AttackPath',
  'XdrEvent',
  'Unknown',
  // Not from Defender: one row per subscription per coverage run (lib/coverage/coverageRows.ts), the
  // pipeline's own health per run (lib/health/pipelineCheck.ts), and `doctor --probe`'s row (lib/doctor/probe.ts).
  'Coverage',
  'PipelineHealth',
  'Probe',
] as const;
export type DataType = (typeof DATA_TYPES)[number];

/** What identifies a row, whatever part of the event it carries. */
export interface RowIdentity {
  TimeGenerated: string;
  DataType: DataType;
  Category: string;
  RecordId: string;
  EventKey: string;
  AzureSubscriptionId: string;
  Severity: string;
  State: string;
  DisplayName: string;
  Action: string;
  IsSnapshot: boolean;
}

/** One row of stream `Custom-DefenderExport` / table `DefenderExport_CL`, in the order it is serialised. */
export interface LogsRow extends RowIdentity {
  PartIndex: number;
  PartCount: number;
  /** '' for a whole row; where this part's share goes when split (see lib/fit/partPath.ts). */
  PartPath: string;
  Trimmed: boolean;
  OriginalBytes: number;
  ArchiveBlob: string;
  Properties: unknown;
}

export type RowFrame = Pick<
  LogsRow,
  'PartIndex' | 'PartCount' | 'PartPath' | 'Trimmed' | 'OriginalBytes' | 'ArchiveBlob'
>;

/**
 * Builds a row as one object literal in column order. (An object spread of eighteen properties gives V8 a
 * slow shape that JSON.stringify serialises several times slower; rows are made on the hot path.)
 */
export function makeRow(identity: RowIdentity, frame: RowFrame, properties: unknown): LogsRow {
  return {
    TimeGenerated: identity.TimeGenerated,
    DataType: identity.DataType,
    Category: identity.Category,
    RecordId: identity.RecordId,
    EventKey: identity.EventKey,
    AzureSubscriptionId: identity.AzureSubscriptionId,
    Severity: identity.Severity,
    State: identity.State,
    DisplayName: identity.DisplayName,
    Action: identity.Action,
    IsSnapshot: identity.IsSnapshot,
    PartIndex: frame.PartIndex,
    PartCount: frame.PartCount,
    PartPath: frame.PartPath,
    Trimmed: frame.Trimmed,
    OriginalBytes: frame.OriginalBytes,
    ArchiveBlob: frame.ArchiveBlob,
    Properties: properties,
  };
}

export type ColumnType = 'datetime' | 'string' | 'boolean' | 'int' | 'long' | 'dynamic';

/** The table's columns and Log Analytics types: the one list infra and KQL are checked against. */
export const ROW_COLUMNS: ReadonlyArray<{ name: keyof LogsRow; type: ColumnType }> = [
  { name: 'TimeGenerated', type: 'datetime' },
  { name: 'DataType', type: 'string' },
  { name: 'Category', type: 'string' },
  { name: 'RecordId', type: 'string' },
  { name: 'EventKey', type: 'string' },
  { name: 'AzureSubscriptionId', type: 'string' },
  { name: 'Severity', type: 'string' },
  { name: 'State', type: 'string' },
  { name: 'DisplayName', type: 'string' },
  { name: 'Action', type: 'string' },
  { name: 'IsSnapshot', type: 'boolean' },
  { name: 'PartIndex', type: 'int' },
  { name: 'PartCount', type: 'int' },
  { name: 'PartPath', type: 'string' },
  { name: 'Trimmed', type: 'boolean' },
  { name: 'OriginalBytes', type: 'long' },
  { name: 'ArchiveBlob', type: 'string' },
  { name: 'Properties', type: 'dynamic' },
];

/**
 * What a data type's normaliser reads out of an event. `eventTime` is the event's own time when the type
 * has one; otherwise the row takes the time the event was enqueued.
 */
export type TypeIdentity = Omit<RowIdentity, 'TimeGenerated' | 'DataType' | 'EventKey' | 'RecordId'> & {
  RecordId?: string;
  eventTime?: string;
};
