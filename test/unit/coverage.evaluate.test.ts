import { describe, expect, it } from 'vitest';
import { DEFAULT_REQUIRED_SOURCES } from '../../lib/coverage/eventSources';
import { evaluate, type EvaluationInput } from '../../lib/coverage/evaluate';
import type { Automation, DesiredState } from '../../lib/coverage/model';

const SUB = '00000000-0000-0000-0000-0000000000a1';
const HUB =
  '/subscriptions/99999999-0000-0000-0000-000000000000/resourceGroups/rg-sec/providers/Microsoft.EventHub/namespaces/ns-sec/eventhubs/defender-cloud';
const desired: DesiredState = {
  destinations: [HUB],
  requiredSources: DEFAULT_REQUIRED_SOURCES,
  requiredSeverities: ['High', 'Medium', 'Low'],
  staleAfterMs: 48 * 3_600_000,
  snapshotStaleAfterMs: 8 * 86_400_000,
};
const now = new Date('2026-11-24T12:00:00Z');
const hoursAgo = (h: number) => new Date(now.getTime() - h * 3_600_000);

const automation = (overrides: Partial<Automation> = {}): Automation => ({
  id: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Security/automations/exportToEventHub`,
  name: 'exportToEventHub',
  isEnabled: true,
  scopes: [`/subscriptions/${SUB}`],
  sources: DEFAULT_REQUIRED_SOURCES.map((eventSource) => ({ eventSource, ruleSets: [] })),
  destinations: [HUB],
  ...overrides,
});

const input = (
  automations: EvaluationInput['automations'],
  extra: Partial<EvaluationInput> = {},
): EvaluationInput => ({
  subscription: { subscriptionId: SUB, displayName: 'Contoso', state: 'Enabled' },
  automations,
  lastSeen: { streaming: hoursAgo(1), snapshot: hoursAgo(24) },
  now,
  ...extra,
});

const status = (i: EvaluationInput, d = desired) => evaluate(i, d).status;

describe('coverage evaluation', () => {
  it('is Covered by one complete, enabled export to an expected hub', () => {
    const result = evaluate(input([automation()]), desired);
    expect(result).toMatchObject({ status: 'Covered', findings: [], qualifying: [automation().id] });
  });

  it('compares resource ids case-insensitively and ignores a trailing slash', () => {
    const shouted = automation({
      scopes: [`/SUBSCRIPTIONS/${SUB.toUpperCase()}/`],
      destinations: [`${HUB.toUpperCase()}/`],
    });
    expect(status(input([shouted]))).toBe('Covered');
  });

  it('is Covered by several exports together', () => {
    const half = Math.ceil(DEFAULT_REQUIRED_SOURCES.length / 2);
    const first = automation({
      name: 'a',
      sources: DEFAULT_REQUIRED_SOURCES.slice(0, half).map((eventSource) => ({ eventSource, ruleSets: [] })),
    });
    const second = automation({
      name: 'b',
      sources: DEFAULT_REQUIRED_SOURCES.slice(half).map((eventSource) => ({ eventSource, ruleSets: [] })),
    });
    expect(status(input([first, second]))).toBe('Covered');
    expect(status(input([first]))).toBe('MissingSources');
  });

  it('is Unknown when the automations cannot be read, and says which role to grant', () => {
    const result = evaluate(input({ error: 'HTTP 403 AuthorizationFailed' }), desired);
    expect(result.status).toBe('Unknown');
    expect(result.findings[0]!.message).toMatch(/Security Reader/);
  });

  it('is Missing without any export', () => {
    expect(status(input([]))).toBe('Missing');
  });

  it('is Disabled when the export to the expected hub is switched off, even next to an enabled one elsewhere', () => {
    const elsewhere = automation({
      name: 'toSplunk',
      destinations: [
        '/subscriptions/x/resourceGroups/r/providers/Microsoft.EventHub/namespaces/n/eventhubs/splunk',
      ],
    });
    const result = evaluate(input([automation({ isEnabled: false }), elsewhere]), desired);
    expect(result.status).toBe('Disabled');
    expect(result.findings[0]!.message).toMatch(/exportToEventHub .* switched off: enable it/);
  });

  it('is PartialScope when the only export to the expected hub covers resource groups', () => {
    const scoped = automation({
      scopes: [`/subscriptions/${SUB}/resourceGroups/prod`, `/subscriptions/${SUB}/resourceGroups/dev`],
    });
    expect(status(input([scoped]))).toBe('PartialScope');
  });

  it('is WrongDestination when enabled exports send elsewhere, naming where', () => {
    const workspace =
      '/subscriptions/x/resourceGroups/r/providers/Microsoft.OperationalInsights/workspaces/law';
    const result = evaluate(input([automation({ destinations: [workspace] })]), desired);
    expect(result.status).toBe('WrongDestination');
    expect(result.findings[0]!.message).toContain(workspace);
    expect(status(input([automation({ destinations: [] })]))).toBe('WrongDestination'); // a Logic App only
  });

  it('is MissingSources, listing which', () => {
    const partial = automation({
      sources: [
        { eventSource: 'Alerts', ruleSets: [] },
        { eventSource: 'Assessments', ruleSets: [] },
      ],
    });
    const result = evaluate(input([partial]), {
      ...desired,
      requiredSources: ['Alerts', 'Assessments', 'SecureScores', 'AssessmentsSnapshot'],
    });
    expect(result).toMatchObject({
      status: 'MissingSources',
      missingSources: ['SecureScores', 'AssessmentsSnapshot'],
    });
  });

  it('is Filtered when a rule drops a required severity; rule sets are OR-ed and rules AND-ed', () => {
    const rule = (expectedValue: string, operator = 'Equals', propertyJPath = 'Severity') => ({
      propertyJPath,
      expectedValue,
      operator,
    });
    const withAlerts = (ruleSets: Array<{ rules: ReturnType<typeof rule>[] }>) =>
      automation({
        sources: [
          ...automation().sources.filter((s) => s.eventSource !== 'Alerts'),
          { eventSource: 'Alerts', ruleSets },
        ],
      });

    const highOnly = evaluate(input([withAlerts([{ rules: [rule('high')] }])]), desired);
    expect(highOnly).toMatchObject({
      status: 'Filtered',
      filtered: [{ source: 'Alerts', severities: ['Medium', 'Low'] }],
    });
    expect(
      status(
        input([
          withAlerts([{ rules: [rule('High')] }, { rules: [rule('Medium')] }, { rules: [rule('Low')] }]),
        ]),
      ),
    ).toBe('Covered');
    expect(status(input([withAlerts([{ rules: [rule('Informational', 'NotEquals')] }])]))).toBe('Covered');
    expect(status(input([withAlerts([{ rules: [rule('Low', 'GreaterThanOrEqualTo')] }])]))).toBe('Covered');
    expect(status(input([withAlerts([{ rules: [rule('Medium', 'GreaterThanOrEqualTo')] }])]))).toBe(
      'Filtered',
    );
    // A rule on another property does not filter by severity.
    expect(status(input([withAlerts([{ rules: [rule('VM_', 'StartsWith', 'AlertType')] }])]))).toBe(
      'Covered',
    );
    // Recommendations filtered on properties.metadata.severity.
    const assessments = automation({
      sources: automation().sources.map((s) =>
        s.eventSource === 'Assessments'
          ? { ...s, ruleSets: [{ rules: [rule('High', 'Equals', 'properties.metadata.severity')] }] }
          : s,
      ),
    });
    expect(evaluate(input([assessments]), desired).filtered).toEqual([
      { source: 'Assessments', severities: ['Medium', 'Low'] },
    ]);
  });

  it('is Stale when configured but silent past the threshold, and only once configured that long', () => {
    expect(
      status(input([automation()], { lastSeen: { streaming: hoursAgo(72), snapshot: hoursAgo(24) } })),
    ).toBe('Stale');
    expect(
      status(input([automation()], { lastSeen: { streaming: hoursAgo(1), snapshot: hoursAgo(24 * 10) } })),
    ).toBe('Stale');
    // Never seen: AwaitingData on the first run, NoData once configured past the threshold (the contract
    // changed on purpose: these were Covered and Stale before AwaitingData and NoData existed).
    expect(status(input([automation()], { lastSeen: {} }))).toBe('AwaitingData');
    const neverSeen = evaluate(input([automation()], { lastSeen: {}, configuredSince: hoursAgo(49) }), {
      ...desired,
      requiredSources: ['Alerts'],
    });
    expect(neverSeen.status).toBe('NoData');
    expect(neverSeen.findings[0]!.message).toMatch(
      /No streaming data has ever arrived from this subscription although the export has been configured since 2026-11-22 11:00 UTC/,
    );
    // 0 switches a check off.
    expect(
      status(input([automation()], { lastSeen: { streaming: hoursAgo(500), snapshot: hoursAgo(500) } }), {
        ...desired,
        staleAfterMs: 0,
        snapshotStaleAfterMs: 0,
      }),
    ).toBe('Covered');
  });
});

describe('a subscription whose data has never been seen', () => {
  const never = (configuredSince?: Date, d = desired) =>
    evaluate(input([automation()], { lastSeen: {}, ...(configuredSince ? { configuredSince } : {}) }), d);

  it('is AwaitingData, never Covered, while the export is newer than the threshold, and says until when', () => {
    const fresh = never();
    expect(fresh).toMatchObject({ status: 'AwaitingData', configuredSince: now.toISOString() });
    expect(fresh.findings).toHaveLength(1);
    // The earliest deadline of the wanted kinds: streaming, 48 hours after it was found configured.
    expect(fresh.findings[0]!.message).toBe(
      'Configured correctly since 2026-11-24 12:00 UTC, but no data from this subscription has arrived yet: nothing to do before 2026-11-26 12:00 UTC; if none has arrived by then it becomes NoData.',
    );
    expect(never(hoursAgo(47)).status).toBe('AwaitingData');
    expect(never(hoursAgo(48)).status).toBe('AwaitingData'); // the threshold itself is not past it
  });

  it('is NoData once configured longer than the threshold, per kind of data', () => {
    expect(never(hoursAgo(49)).status).toBe('NoData');
    // Streaming arrives, the weekly snapshot never has: Covered until the snapshot threshold, then NoData.
    const snapshotsOnly = (configuredSince: Date) =>
      evaluate(input([automation()], { lastSeen: { streaming: hoursAgo(1) }, configuredSince }), desired);
    expect(snapshotsOnly(hoursAgo(24 * 7))).toMatchObject({ status: 'Covered', findings: [] });
    const overdue = snapshotsOnly(hoursAgo(24 * 9));
    expect(overdue.status).toBe('NoData');
    expect(overdue.findings.map((f) => f.message)).toEqual([
      "No snapshot data has ever arrived from this subscription although the export has been configured since 2026-11-15 12:00 UTC: check the Event Hub's firewall and the export's permissions.",
    ]);
  });

  it('reports Stale before NoData when one kind stopped and the other never came', () => {
    const result = evaluate(
      input([automation()], {
        lastSeen: { snapshot: hoursAgo(24 * 10) },
        configuredSince: hoursAgo(24 * 30),
      }),
      desired,
    );
    expect(result.findings.map((f) => f.status)).toEqual(['Stale', 'NoData']);
    expect(result.status).toBe('Stale');
  });

  it('is judged only when the configuration is right, and not at all when the checks are off', () => {
    expect(status(input([automation({ isEnabled: false })], { lastSeen: {} }))).toBe('Disabled');
    expect(never(hoursAgo(1000), { ...desired, staleAfterMs: 0, snapshotStaleAfterMs: 0 }).status).toBe(
      'Covered',
    );
  });
});

describe('a subscription Resource Manager could not be asked about', () => {
  it('is Unreachable, not Unknown, and says it judged nothing', () => {
    const result = evaluate(
      input({ error: 'ECONNRESET socket hang up', unreachable: true }, { lastSeen: {} }),
      desired,
    );
    expect(result).toMatchObject({ status: 'Unreachable', qualifying: [], missingSources: [] });
    expect(result.findings).toHaveLength(1);
    expect(result.findings[0]!.message).toMatch(
      /^Resource Manager could not be reached \(ECONNRESET socket hang up\): nothing was judged this run/,
    );
    expect(result.configuredSince).toBeUndefined();
    // A refusal is still Unknown.
    expect(status(input({ error: 'HTTP 403 AuthorizationFailed' }))).toBe('Unknown');
  });
});
