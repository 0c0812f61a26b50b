import type { EventSource } from './eventSources';

/** The subset of a `Microsoft.Security/automations` resource that coverage reads. */
export interface Automation {
  id: string;
  name: string;
  location?: string;
  tags?: Record<string, string>;
  isEnabled: boolean;
  scopes: string[];
  sources: Array<{ eventSource: string; ruleSets: Array<{ rules: Rule[] }> }>;
  /** Event Hub or workspace resource ids the automation sends to (Logic Apps are ignored). */
  destinations: string[];
}

export interface Rule {
  propertyJPath: string;
  expectedValue: string;
  operator: string;
}

export interface Subscription {
  subscriptionId: string;
  displayName: string;
  state: string;
}

/**
 * Every status a subscription can have (lib/coverage/evaluate.ts says when each applies):
 * - Covered: an enabled, subscription-wide export to an expected destination sends every required source
 *   and severity, and data of every wanted kind (streaming, snapshot) has arrived within its threshold,
 *   or some has arrived and the rest is not due yet.
 * - AwaitingData: configured correctly, but no data from the subscription has ever arrived, and it was
 *   first found configured less than the stale threshold ago (a new or just fixed export). Not alerted.
 * - Missing, Disabled, WrongDestination, PartialScope, MissingSources, Filtered: the export's configuration.
 * - Stale: configured correctly; data arrived once but not within the threshold.
 * - NoData: configured correctly for longer than the threshold, and data of a wanted kind never arrived.
 * - Unknown: the subscription's exports could not be read because access was refused (403, 404).
 * - Unreachable: Resource Manager could not be asked (network error, DNS, 5xx/408/429 after the SDK's
 *   retries, no token): nothing is known about the subscription this run. It is not a judgement: alerting
 *   keeps the last known status (transitions.ts) and the log alert rule skips its rows.
 */
export const STATUSES = [
  'Covered',
  'AwaitingData',
  'Missing',
  'Disabled',
  'WrongDestination',
  'MissingSources',
  'Filtered',
  'PartialScope',
  'Stale',
  'NoData',
  'Unknown',
  'Unreachable',
] as const;
export type CoverageStatus = (typeof STATUSES)[number];

/**
 * Statuses nobody is alerted about: nothing wrong as far as can be told (Covered, AwaitingData), or nothing
 * learnt at all (Unreachable). Every other status is a gap: alerted when it opens, reminded while open.
 */
export const QUIET_STATUSES: ReadonlySet<CoverageStatus> = new Set<CoverageStatus>([
  'Covered',
  'AwaitingData',
  'Unreachable',
]);

/** Whether a status is a gap someone must act on (alerted, reminded, counted by the log alert rule). */
export const isGap = (status: CoverageStatus): boolean => !QUIET_STATUSES.has(status);

export interface Finding {
  status: CoverageStatus;
  /** One sentence: what is wrong and how to fix it. */
  message: string;
}

export interface SubscriptionCoverage {
  subscriptionId: string;
  displayName: string;
  status: CoverageStatus;
  findings: Finding[];
  /** Automations (resource ids) that export to an expected destination for the whole subscription. */
  qualifying: string[];
  missingSources: EventSource[];
  filtered: Array<{ source: string; severities: string[] }>;
  lastSeen: { streaming?: string; snapshot?: string };
  /** Since when the export has been configured correctly, as far as this reconciler knows. */
  configuredSince?: string;
}

export interface DesiredState {
  destinations: string[];
  requiredSources: readonly EventSource[];
  requiredSeverities: readonly string[];
  /** 0 switches the check off. */
  staleAfterMs: number;
  snapshotStaleAfterMs: number;
}
