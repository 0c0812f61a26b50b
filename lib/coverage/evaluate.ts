import { SEVERITY_SOURCES } from './eventSources';
import { intern } from './intern';
import type { Automation, DesiredState, Finding, Rule, Subscription, SubscriptionCoverage } from './model';

const SEVERITY_RANK: Record<string, number> = { informational: 0, low: 1, medium: 2, high: 3 };

/** ARM resource ids compare case-insensitively, and a trailing slash changes nothing. */
export const sameId = (a: string, b: string) => normalizeId(a) === normalizeId(b);
export const normalizeId = (id: string) => id.trim().replace(/\/+$/, '').toLowerCase();

function isSeverityRule(rule: Rule): boolean {
  const path = rule.propertyJPath.replace(/^\$\.?/, '').split('.');
  return path[path.length - 1]?.toLowerCase() === 'severity';
}

/** Whether one rule lets an event of `severity` through (only severity rules are judged; others pass). */
function admits(rule: Rule, severity: string): boolean {
  if (!isSeverityRule(rule)) return true;
  const actual = severity.toLowerCase();
  const expected = rule.expectedValue.trim().toLowerCase();
  const compare = (SEVERITY_RANK[actual] ?? -1) - (SEVERITY_RANK[expected] ?? -1);
  switch (rule.operator) {
    case 'Equals':
      return actual === expected;
    case 'NotEquals':
      return actual !== expected;
    case 'Contains':
      return actual.includes(expected);
    case 'StartsWith':
      return actual.startsWith(expected);
    case 'EndsWith':
      return actual.endsWith(expected);
    case 'GreaterThan':
      return compare > 0;
    case 'GreaterThanOrEqualTo':
      return compare >= 0;
    case 'LesserThan':
      return compare < 0;
    case 'LesserThanOrEqualTo':
      return compare <= 0;
    default:
      return true; // an operator we do not know: do not claim it filters
  }
}

/** Rule sets are OR-ed, the rules inside one AND-ed; a source without rule sets lets everything through. */
function sourceAdmits(source: Automation['sources'][number], severity: string): boolean {
  if (source.ruleSets.length === 0) return true;
  return source.ruleSets.some((set) => set.rules.every((rule) => admits(rule, severity)));
}

const subscriptionScope = (subscriptionId: string) => `/subscriptions/${subscriptionId}`;

function scopeOf(automation: Automation, subscriptionId: string): 'subscription' | 'resourceGroups' | 'none' {
  const whole = normalizeId(subscriptionScope(subscriptionId));
  if (automation.scopes.some((scope) => normalizeId(scope) === whole)) return 'subscription';
  if (automation.scopes.some((scope) => normalizeId(scope).startsWith(`${whole}/resourcegroups/`)))
    return 'resourceGroups';
  return 'none';
}

const list = (items: readonly string[]) => items.join(', ');

export interface EvaluationInput {
  subscription: Subscription;
  /**
   * The automations of the subscription, or why they could not be read: `unreachable` when Resource Manager
   * could not be asked at all (network, 5xx after retries, no token), rather than refusing access.
   */
  automations: Automation[] | { error: string; unreachable?: boolean };
  /** Latest heartbeat per kind, when the pipeline has seen data from this subscription. */
  lastSeen: { streaming?: Date; snapshot?: Date };
  /** When a previous run first found the export configured correctly (undefined: not before). */
  configuredSince?: Date;
  now: Date;
}

/**
 * Judges one subscription over the union of all its automations: several may cover it together; an
 * automation scoped to resource groups does not cover the subscription; a disabled one covers nothing; a
 * rule set that drops a required severity filters. Returns the status closest to the cause, and a finding
 * for every gap, each saying what is wrong and how to fix it. Order of judgement: Unreachable, Unknown,
 * Missing, Disabled, PartialScope, WrongDestination, MissingSources and Filtered (all reported), then, only
 * when the configuration is right, Stale, NoData, AwaitingData (dataFindings), else Covered.
 */
export function evaluate(input: EvaluationInput, desired: DesiredState): SubscriptionCoverage {
  const { subscription, now } = input;
  const id = subscription.subscriptionId;
  const lastSeen = {
    ...(input.lastSeen.streaming ? { streaming: input.lastSeen.streaming.toISOString() } : {}),
    ...(input.lastSeen.snapshot ? { snapshot: input.lastSeen.snapshot.toISOString() } : {}),
  };
  const done = (findings: Finding[], extra: Partial<SubscriptionCoverage> = {}) =>
    judgement(subscription, lastSeen, findings, extra);

  if ('error' in input.automations) {
    if (input.automations.unreachable) {
      return done([
        {
          status: 'Unreachable',
          message: `Resource Manager could not be reached (${input.automations.error}): nothing was judged this run and alerts keep the last known status; check the network path to AZURE_RESOURCE_MANAGER_ENDPOINT (DNS, proxy, firewall) and the Azure status page, or wait for the next run.`,
        },
      ]);
    }
    return done([
      {
        status: 'Unknown',
        message: `Could not read the subscription's continuous export settings (${input.automations.error}): grant the reconciler's identity Security Reader on it.`,
      },
    ]);
  }
  const automations = input.automations;
  if (automations.length === 0) {
    return done([
      {
        status: 'Missing',
        message:
          'No continuous export is configured: create one that sends to the expected Event Hub (or turn on remediation).',
      },
    ]);
  }

  const toExpected = (a: Automation) =>
    a.destinations.some((d) => desired.destinations.some((e) => sameId(d, e)));
  const qualifying = automations.filter(
    (a) => a.isEnabled && scopeOf(a, id) === 'subscription' && toExpected(a),
  );
  if (qualifying.length === 0) {
    const names = (items: Automation[]) => list(items.map((a) => a.name));
    const switchedOff = automations.filter(
      (a) => !a.isEnabled && scopeOf(a, id) === 'subscription' && toExpected(a),
    );
    if (switchedOff.length > 0) {
      return done([
        {
          status: 'Disabled',
          message: `The export ${names(switchedOff)} sends to the expected destination but is switched off: enable it.`,
        },
      ]);
    }
    const partial = automations.filter(
      (a) => a.isEnabled && scopeOf(a, id) === 'resourceGroups' && toExpected(a),
    );
    if (partial.length > 0) {
      return done([
        {
          status: 'PartialScope',
          message: `The export ${names(partial)} covers only some resource groups: scope it to the whole subscription.`,
        },
      ]);
    }
    const enabled = automations.filter((a) => a.isEnabled);
    if (enabled.length > 0) {
      const where = [...new Set(enabled.flatMap((a) => a.destinations))];
      return done([
        {
          status: 'WrongDestination',
          message: `The export ${names(enabled)} sends ${where.length ? `to ${list(where)}` : 'nowhere we read (a Logic App?)'}, not to an expected destination: point it at ${list(desired.destinations)}.`,
        },
      ]);
    }
    return done([
      {
        status: 'Disabled',
        message: `Every export of the subscription (${names(automations)}) is switched off: enable one that sends to the expected destination.`,
      },
    ]);
  }

  const findings: Finding[] = [];
  const sources = qualifying.flatMap((a) => a.sources);
  const missingSources = desired.requiredSources.filter(
    (required) => !sources.some((s) => s.eventSource === required),
  );
  if (missingSources.length > 0) {
    findings.push({
      status: 'MissingSources',
      message: `The export leaves out ${list(missingSources)}: add ${missingSources.length === 1 ? 'it' : 'them'} to its exported data types.`,
    });
  }
  const filtered = desired.requiredSources
    .filter((required) => SEVERITY_SOURCES.has(required) && !missingSources.includes(required))
    .map((source) => ({
      source,
      severities: desired.requiredSeverities.filter(
        (severity) => !sources.some((s) => s.eventSource === source && sourceAdmits(s, severity)),
      ),
    }))
    .filter((f) => f.severities.length > 0);
  for (const { source, severities } of filtered) {
    findings.push({
      status: 'Filtered',
      message: `The export's filters drop ${list(severities)} severity ${source}: remove the severity rule or add the missing severities.`,
    });
  }

  const configuredSince = findings.length === 0 ? (input.configuredSince ?? now) : undefined;
  if (configuredSince) findings.push(...dataFindings(input.lastSeen, configuredSince, now, desired));
  return done(findings, {
    qualifying: qualifying.map((a) => a.id),
    missingSources,
    filtered,
    ...(configuredSince ? { configuredSince: configuredSince.toISOString() } : {}),
  });
}

/**
 * The judgement, its properties always in this order: a large estate's 100,000 results then share one
 * hidden class (spreads of varying objects gave each its own, 32 MB at 100,000). Every judgement leaves
 * through here.
 */
function judgement(
  subscription: Subscription,
  lastSeen: SubscriptionCoverage['lastSeen'],
  findings: Finding[],
  extra: Partial<SubscriptionCoverage>,
): SubscriptionCoverage {
  const judged: SubscriptionCoverage = {
    subscriptionId: subscription.subscriptionId,
    displayName: subscription.displayName,
    qualifying: extra.qualifying ?? [],
    missingSources: extra.missingSources ?? [],
    filtered: extra.filtered ?? [],
    lastSeen,
    status: findings[0]?.status ?? 'Covered',
    findings,
  };
  // Most subscriptions share their sentences and times: one string of each (lib/coverage/intern.ts).
  for (const finding of findings) finding.message = intern(finding.message);
  if (extra.configuredSince) judged.configuredSince = intern(extra.configuredSince);
  return judged;
}

/** An absolute time for a message: a finding then reads the same run after run, and the state is not rewritten for it. */
const minute = (date: Date) => date.toISOString().slice(0, 16).replace('T', ' ');

/**
 * Whether data arrives from a subscription whose export is configured correctly, judged from the
 * pipeline's heartbeat, per kind of data the required sources want (streaming; snapshot), each against its
 * threshold (0 switches that kind's check off):
 * - seen within the threshold: fine;
 * - seen, but longer ago than the threshold: Stale;
 * - never seen, and configured for longer than the threshold: NoData;
 * - never seen, and configured for less: not due yet.
 * When nothing has ever been seen and nothing is overdue yet, the subscription is AwaitingData, not Covered:
 * a configuration that looks right from ARM does not prove that data flows (the hub's firewall, the export's
 * rights on the hub, a hub that is not ours all look fine from there). It is not alerted: a new or just
 * fixed export gets the whole threshold (COVERAGE_STALE_AFTER_HOURS, COVERAGE_SNAPSHOT_STALE_AFTER_DAYS)
 * before it becomes NoData, which is. A kind not due yet next to one that arrives (a new export's first
 * weekly snapshot) leaves the subscription Covered: its data flows.
 */
function dataFindings(
  lastSeen: EvaluationInput['lastSeen'],
  configuredSince: Date,
  now: Date,
  desired: DesiredState,
): Finding[] {
  const kinds = [
    {
      kind: 'streaming' as const,
      limit: desired.staleAfterMs,
      wanted: desired.requiredSources.some((s) => !s.endsWith('Snapshot')),
    },
    {
      kind: 'snapshot' as const,
      limit: desired.snapshotStaleAfterMs,
      wanted: desired.requiredSources.some((s) => s.endsWith('Snapshot')),
    },
  ];
  const stale: Finding[] = [];
  const never: Finding[] = [];
  let seenAny = false;
  let due: Date | undefined;
  for (const { kind, limit, wanted } of kinds) {
    if (!wanted || limit <= 0) continue;
    const seen = lastSeen[kind];
    if (seen) {
      seenAny = true;
      if (now.getTime() - seen.getTime() > limit) {
        stale.push({
          status: 'Stale',
          message: `No ${kind} data has arrived since ${minute(seen)} UTC although the export is configured: check the Event Hub's firewall and the export's permissions.`,
        });
      }
      continue;
    }
    const deadline = new Date(configuredSince.getTime() + limit);
    if (now.getTime() > deadline.getTime()) {
      never.push({
        status: 'NoData',
        message: `No ${kind} data has ever arrived from this subscription although the export has been configured since ${minute(configuredSince)} UTC: check the Event Hub's firewall and the export's permissions.`,
      });
    } else if (!due || deadline < due) {
      due = deadline;
    }
  }
  const findings = [...stale, ...never];
  if (findings.length === 0 && !seenAny && due) {
    findings.push({
      status: 'AwaitingData',
      message: `Configured correctly since ${minute(configuredSince)} UTC, but no data from this subscription has arrived yet: nothing to do before ${minute(due)} UTC; if none has arrived by then it becomes NoData.`,
    });
  }
  return findings;
}
