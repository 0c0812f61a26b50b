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

export const STATUSES = [
  'Covered',
  'Missing',
  'Disabled',
  'WrongDestination',
  'MissingSources',
  'Filtered',
  'PartialScope',
  'Stale',
  'Unknown',
] as const;
export type CoverageStatus = (typeof STATUSES)[number];

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
