import type { SecurityCenter } from '@azure/arm-security';
import { createHttpHeaders, createPipelineRequest } from '@azure/core-rest-pipeline';
import type { EventSource } from './eventSources';
import { sameId } from './evaluate';
import type { Automation, CoverageStatus, SubscriptionCoverage } from './model';

/** The API version that has `isTrustedServiceEnabled` (an export to a firewalled hub without a secret). */
export const AUTOMATIONS_WRITE_API = '2023-12-01-preview';
export const MANAGED_BY = { managedBy: 'defender-export' };

/**
 * Gaps a new or corrected export fixes. Stale, NoData and Unknown need people, not a PUT (the export is
 * right, or unreadable); AwaitingData needs time; Unreachable says nothing about the export at all.
 */
const FIXABLE = new Set<CoverageStatus>([
  'Missing',
  'Disabled',
  'WrongDestination',
  'MissingSources',
  'Filtered',
  'PartialScope',
]);

export interface RemediationSettings {
  armEndpoint: string;
  resourceGroup: string;
  name: string;
  location: string;
  /** Also rewrite an automation of that name that defender-export did not create. */
  adopt: boolean;
  destinations: readonly string[];
  requiredSources: readonly EventSource[];
}

export interface PlannedChange {
  subscriptionId: string;
  kind: 'create' | 'update' | 'skip';
  method: 'PUT';
  url: string;
  body: Record<string, unknown>;
  reason: string;
}

/** The export the reconciler wants: the whole subscription, every required source unfiltered, to the first destination. */
function desiredAutomation(
  subscriptionId: string,
  location: string,
  settings: RemediationSettings,
): Record<string, unknown> {
  const destination = settings.destinations[0]!;
  const action = /\/providers\/microsoft\.operationalinsights\/workspaces\//i.test(destination)
    ? { actionType: 'Workspace', workspaceResourceId: destination }
    : // Trusted-service mode: the Security resource provider sends with its own identity (it needs Azure Event
      // Hubs Data Sender on the hub), so no connection string is handled here.
      { actionType: 'EventHub', eventHubResourceId: destination, isTrustedServiceEnabled: true };
  return {
    location,
    tags: { ...MANAGED_BY },
    properties: {
      description: 'Continuous export of Microsoft Defender for Cloud data, managed by defender-export.',
      isEnabled: true,
      scopes: [{ description: 'The whole subscription', scopePath: `/subscriptions/${subscriptionId}` }],
      sources: settings.requiredSources.map((eventSource) => ({ eventSource })),
      actions: [action],
    },
  };
}

/** What remediation would do for one subscription (nothing unless its status is FIXABLE). */
export function planRemediation(
  coverage: SubscriptionCoverage,
  automations: readonly Automation[],
  settings: RemediationSettings,
): PlannedChange | undefined {
  if (!FIXABLE.has(coverage.status)) return undefined;
  const id = `/subscriptions/${coverage.subscriptionId}/resourceGroups/${settings.resourceGroup}/providers/Microsoft.Security/automations/${settings.name}`;
  const url = `${settings.armEndpoint.replace(/\/+$/, '')}${id.split('/').map(encodeURIComponent).join('/')}?api-version=${AUTOMATIONS_WRITE_API}`;
  const existing = automations.find((a) => sameId(a.id, id));
  const ours = existing?.tags?.managedBy === MANAGED_BY.managedBy;
  const body = desiredAutomation(coverage.subscriptionId, existing?.location ?? settings.location, settings);
  if (existing && !ours && !settings.adopt) {
    return {
      subscriptionId: coverage.subscriptionId,
      kind: 'skip',
      method: 'PUT',
      url,
      body,
      reason: `${settings.name} exists and was not created by defender-export: left alone (adopt it with --adopt or COVERAGE_REMEDIATION_ADOPT)`,
    };
  }
  return {
    subscriptionId: coverage.subscriptionId,
    kind: existing ? 'update' : 'create',
    method: 'PUT',
    url,
    body,
    reason: `${coverage.status}: ${existing ? 'rewrite' : 'create'} ${settings.name} in ${settings.resourceGroup} to export ${settings.requiredSources.length} sources to ${settings.destinations[0]}`,
  };
}

export type Applied = { ok: true; status: number } | { ok: false; status?: number; message: string };

/**
 * PUTs the planned automation through the subscription's own SecurityCenter pipeline (its credential,
 * retry and user agent), at the API version that supports trusted-service mode.
 */
export async function applyRemediation(change: PlannedChange, client: SecurityCenter): Promise<Applied> {
  try {
    const response = await client.sendRequest(
      createPipelineRequest({
        url: change.url,
        method: 'PUT',
        body: JSON.stringify(change.body),
        headers: createHttpHeaders({ 'content-type': 'application/json' }),
      }),
    );
    if (response.status === 200 || response.status === 201) return { ok: true, status: response.status };
    let message = `HTTP ${response.status}`;
    try {
      const error = (
        JSON.parse(response.bodyAsText ?? '{}') as { error?: { code?: string; message?: string } }
      ).error;
      if (error) message += ` ${error.code ?? ''}: ${error.message ?? ''}`;
    } catch {
      // not JSON: the status says enough
    }
    return { ok: false, status: response.status, message };
  } catch (error) {
    return { ok: false, message: (error as Error).message };
  }
}
