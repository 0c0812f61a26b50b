/** How one check came out: ✓ passed, ✗ failed (the deployment will lose or miss data), ! worth a look, – not run. */
export type CheckStatus = 'pass' | 'fail' | 'warn' | 'skip';

export const STATUS_SYMBOL: Record<CheckStatus, string> = { pass: '✓', fail: '✗', warn: '!', skip: '–' };

/** What a check is about, in the order the report lists them. */
export const AREAS = [
  'settings',
  'credential',
  'logs',
  'storage',
  'event hubs',
  'coverage',
  'health',
] as const;
export type Area = (typeof AREAS)[number];

/** One line of the doctor's report. Never holds a setting's value: only names, hosts and resource ids. */
export interface Check {
  area: Area;
  /** What was checked: "data collection rule", "container defender-archive"… */
  name: string;
  status: CheckStatus;
  /** What was found. */
  detail: string;
  /** What to do, when it did not pass. */
  fix?: string;
}

export interface DoctorReport {
  checkedAt: string;
  /** Where the settings came from: "the environment", "local.settings.json", "app func-x in rg-y". */
  settingsFrom: string;
  /** The identity whose roles were checked, and how it was found. */
  principal?: { id: string; from: string };
  checks: Check[];
  counts: Record<CheckStatus, number>;
}

export const check = (
  area: Area,
  name: string,
  status: CheckStatus,
  detail: string,
  fix?: string,
): Check => ({ area, name, status, detail, ...(fix && status !== 'pass' ? { fix } : {}) });

export function countChecks(checks: readonly Check[]): Record<CheckStatus, number> {
  const counts: Record<CheckStatus, number> = { pass: 0, fail: 0, warn: 0, skip: 0 };
  for (const c of checks) counts[c.status]++;
  return counts;
}

/** An error's first line, short, with anything that looks like a key or signature blanked out. */
export function oneLine(error: unknown): string {
  const text = String((error as Error | undefined)?.message ?? error)
    .split('\n')[0]!
    .slice(0, 300);
  return text.replace(/(sig|AccountKey|SharedAccessKey|SharedAccessSignature)=[^;&\s"']*/gi, '$1=…');
}
