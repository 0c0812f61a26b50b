import { DEFAULT_REQUIRED_SOURCES } from '../lib/coverage/eventSources';
import type { AutomationResource, EstateSubscription } from './armServer';

/** The hub every export should send to, in the sample estate. */
export const SAMPLE_HUB =
  '/subscriptions/5ec00000-0000-4000-8000-000000000001/resourceGroups/rg-security/providers/Microsoft.EventHub/namespaces/ns-defender/eventhubs/defender-cloud';
const OTHER_HUB =
  '/subscriptions/5ec00000-0000-4000-8000-000000000001/resourceGroups/rg-siem/providers/Microsoft.EventHub/namespaces/ns-siem/eventhubs/splunk';

/** Subscriptions whose ids appear in the Defender samples, so the demo's replay gives them a heartbeat. */
export const SAMPLE_SUBSCRIPTIONS = {
  covered: '12cabcb4-86e8-404f-a3d2-1dc9982f45ca',
  coveredTogether: '1111111-1111-1111-111-11111111',
};

export function automation(
  subscriptionId: string,
  name: string,
  overrides: {
    isEnabled?: boolean;
    scopes?: string[];
    sources?: AutomationResource['properties']['sources'];
    hub?: string;
    resourceGroup?: string;
  } = {},
): AutomationResource {
  return {
    id: `/subscriptions/${subscriptionId}/resourceGroups/${overrides.resourceGroup ?? 'rg-security'}/providers/Microsoft.Security/automations/${name}`,
    name,
    type: 'Microsoft.Security/automations',
    location: 'westeurope',
    tags: {},
    properties: {
      isEnabled: overrides.isEnabled ?? true,
      scopes: (overrides.scopes ?? [`/subscriptions/${subscriptionId}`]).map((scopePath) => ({
        description: 'scope',
        scopePath,
      })),
      sources: overrides.sources ?? DEFAULT_REQUIRED_SOURCES.map((eventSource) => ({ eventSource })),
      actions: [
        {
          actionType: 'EventHub',
          eventHubResourceId: overrides.hub ?? SAMPLE_HUB,
          connectionString: 'Endpoint=sb://never-returned/',
        },
      ],
    },
  };
}

const all = DEFAULT_REQUIRED_SOURCES.map((eventSource) => ({ eventSource }));
const highAlertsOnly = () => ({
  eventSource: 'Alerts',
  ruleSets: [
    {
      rules: [
        { propertyJPath: 'Severity', propertyType: 'String', expectedValue: 'High', operator: 'Equals' },
      ],
    },
  ],
});

/**
 * One subscription for every coverage status, plus one that is switched off (skipped). The stale one
 * needs a heartbeat older than the threshold, which the demo writes; the forbidden one answers 403.
 */
export function sampleEstate(): EstateSubscription[] {
  const sub = (n: number) => `5ec00000-0000-4000-8000-0000000000${String(n).padStart(2, '0')}`;
  return [
    {
      subscriptionId: SAMPLE_SUBSCRIPTIONS.covered,
      displayName: 'Production',
      automations: [automation(SAMPLE_SUBSCRIPTIONS.covered, 'exportToEventHub')],
      resourceGroups: ['rg-security'],
    },
    {
      subscriptionId: SAMPLE_SUBSCRIPTIONS.coveredTogether,
      displayName: 'AKS platform (two exports together)',
      automations: [
        automation(SAMPLE_SUBSCRIPTIONS.coveredTogether, 'alertsAndRecommendations', {
          sources: all.slice(0, 5),
        }),
        automation(SAMPLE_SUBSCRIPTIONS.coveredTogether, 'scoresAndCompliance', { sources: all.slice(5) }),
      ],
      resourceGroups: ['rg-security'],
    },
    {
      subscriptionId: sub(10),
      displayName: 'Sandbox (never set up)',
      automations: [],
      resourceGroups: ['rg-security'],
    },
    {
      subscriptionId: sub(11),
      displayName: 'Finance (switched off)',
      automations: [automation(sub(11), 'exportToEventHub', { isEnabled: false })],
      resourceGroups: ['rg-security'],
    },
    {
      subscriptionId: sub(12),
      displayName: 'Marketing (to the SIEM hub)',
      automations: [automation(sub(12), 'exportToSiem', { hub: OTHER_HUB })],
      resourceGroups: ['rg-security'],
    },
    {
      subscriptionId: sub(13),
      displayName: 'Data platform (no snapshots)',
      automations: [
        automation(sub(13), 'exportToEventHub', {
          sources: all.filter((s) => !s.eventSource.endsWith('Snapshot')),
        }),
      ],
      resourceGroups: ['rg-security'],
    },
    {
      subscriptionId: sub(14),
      displayName: 'Retail (High alerts only)',
      automations: [
        automation(sub(14), 'exportToEventHub', {
          sources: all.map((s) => (s.eventSource === 'Alerts' ? highAlertsOnly() : s)),
        }),
      ],
      resourceGroups: ['rg-security'],
    },
    {
      subscriptionId: sub(15),
      displayName: 'Shared services (one resource group)',
      automations: [
        automation(sub(15), 'exportToEventHub', {
          scopes: [`/subscriptions/${sub(15)}/resourceGroups/rg-web`],
        }),
      ],
      resourceGroups: ['rg-security'],
    },
    {
      subscriptionId: sub(16),
      displayName: 'Legacy (silent)',
      automations: [automation(sub(16), 'exportToEventHub')],
      resourceGroups: ['rg-security'],
    },
    {
      subscriptionId: sub(17),
      displayName: 'Partner (no Security Reader)',
      forbidden: true,
      automations: [],
    },
    { subscriptionId: sub(18), displayName: 'Decommissioned', state: 'Disabled', automations: [] },
  ];
}

/** The subscription that is configured but silent, for seeding an old heartbeat. */
export const STALE_SUBSCRIPTION = '5ec00000-0000-4000-8000-000000000016';

/**
 * A large estate for measurements, the same for a count every time: one export per subscription, with one in
 * ten missing, one in ten switched off and one in ten sending to another hub; of every hundred, one scoped
 * to a resource group, one leaving out the snapshots, one sending High alerts only, one the reader may not
 * read (403) and one disabled subscription, so that every status the estate decides appears; and one in
 * 2,000 not in Resource Graph yet (`graphHidden`), only Resource Manager seeing it.
 */
export function largeEstate(count: number): EstateSubscription[] {
  return Array.from({ length: count }, (_, i) => {
    const id = `5ec00000-0000-4000-8000-${String(i).padStart(12, '0')}`;
    const kind = i % 10;
    const rare = i % 100;
    const automations =
      kind === 0
        ? []
        : [
            automation(id, 'exportToEventHub', {
              isEnabled: kind !== 1,
              hub: kind === 2 ? `${SAMPLE_HUB}-other` : SAMPLE_HUB,
              ...(rare === 3 ? { scopes: [`/subscriptions/${id}/resourceGroups/rg-web`] } : {}),
              ...(rare === 4 ? { sources: all.filter((s) => !s.eventSource.endsWith('Snapshot')) } : {}),
              ...(rare === 5
                ? { sources: all.map((s) => (s.eventSource === 'Alerts' ? highAlertsOnly() : s)) }
                : {}),
            }),
          ];
    return {
      subscriptionId: id,
      displayName: `subscription ${i}`,
      automations,
      ...(rare === 6 ? { forbidden: true } : {}),
      ...(rare === 7 ? { state: 'Disabled' as const } : {}),
      ...(i % 2000 === 8 ? { graphHidden: true } : {}),
    };
  });
}
