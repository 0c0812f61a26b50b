import { SEVERITY_SOURCES, type EventSource } from './eventSources';
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
  /** The automations of the subscription, or why they could not be read. */
  automations: Automation[] | { error: string };
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
 * for every gap, each saying what is wrong and how to fix it.
 */
export function evaluate(input: EvaluationInput, desired: DesiredState): SubscriptionCoverage {
  const { subscription, now } = input;
  const id = subscription.subscriptionId;
  const base = {
    subscriptionId: id,
    displayName: subscription.displayName,
    qualifying: [] as string[],
    missingSources: [] as EventSource[],
    filtered: [] as Array<{ source: string; severities: string[] }>,
    lastSeen: {
      ...(input.lastSeen.streaming ? { streaming: input.lastSeen.streaming.toISOString() } : {}),
      ...(input.lastSeen.snapshot ? { snapshot: input.lastSeen.snapshot.toISOString() } : {}),
    },
  };
  const done = (findings: Finding[], extra: Partial<SubscriptionCoverage> = {}): SubscriptionCoverage => ({
    ...base,
    status: findings[0]?.status ?? 'Covered',
    findings,
    ...extra,
  });

  if ('error' in input.automations) {
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
  if (configuredSince) {
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
    for (const { kind, limit, wanted } of kinds) {
      if (!wanted || limit <= 0) continue;
      const seen = input.lastSeen[kind];
      const since = seen ?? configuredSince;
      if (now.getTime() - since.getTime() > limit) {
        // An absolute time, so the finding reads the same run after run and the state is not rewritten for it.
        const when = since.toISOString().slice(0, 16).replace('T', ' ');
        findings.push({
          status: 'Stale',
          message: seen
            ? `No ${kind} data has arrived since ${when} UTC although the export is configured: check the Event Hub's firewall and the export's permissions.`
            : `No ${kind} data has arrived since the export was found configured at ${when} UTC: check the Event Hub's firewall and the export's permissions.`,
        });
      }
    }
  }
  return done(findings, {
    qualifying: qualifying.map((a) => a.id),
    missingSources,
    filtered,
    ...(configuredSince ? { configuredSince: configuredSince.toISOString() } : {}),
  });
}
