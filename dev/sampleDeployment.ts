import { ROLES } from '../lib/doctor/roles';
import { ROW_COLUMNS } from '../lib/records/row';
import type { ArmResource, ArmStandIn, EstateSubscription, RoleAssignment } from './armServer';
import { automation } from './sampleEstate';

/**
 * What infra/main.bicep deploys, as Resource Manager would return it, for the local ARM stand-in: the data
 * collection rule and endpoint, the workspace table, the Event Hubs namespace with its hubs and consumer
 * group, the function app with its user-assigned identity and app settings, and the identity's roles.
 * `doctor` finds a healthy deployment here; tests change one piece to make it drift.
 */

export const DEPLOYMENT = {
  subscriptionId: '5ec00000-0000-4000-8000-000000000001',
  resourceGroup: 'rg-defender-export',
  app: 'func-defexp-local',
  /** The app's user-assigned identity. */
  principalId: '0b5e7a11-0000-4000-8000-00000000a991',
  clientId: 'c1e47000-0000-4000-8000-00000000a991',
  namespace: 'evhns-defexp-local',
  hubs: ['defender-cloud', 'defender-xdr'],
  consumerGroup: 'defender-export',
  workspace: 'log-defexp-local',
  rule: 'dcr-defexp-local',
  endpoint: 'dce-defexp-local',
  storageAccount: 'stdefexplocal',
} as const;

/** The command line's arguments that name the sample deployment's app: `doctor ...APP_ARGS`. */
export const APP_ARGS = [
  '--app',
  DEPLOYMENT.app,
  '--resource-group',
  DEPLOYMENT.resourceGroup,
  '--subscription',
  DEPLOYMENT.subscriptionId,
];

const group = `/subscriptions/${DEPLOYMENT.subscriptionId}/resourceGroups/${DEPLOYMENT.resourceGroup}`;
export const IDS = {
  group,
  rule: `${group}/providers/Microsoft.Insights/dataCollectionRules/${DEPLOYMENT.rule}`,
  endpoint: `${group}/providers/Microsoft.Insights/dataCollectionEndpoints/${DEPLOYMENT.endpoint}`,
  workspace: `${group}/providers/Microsoft.OperationalInsights/workspaces/${DEPLOYMENT.workspace}`,
  table: `${group}/providers/Microsoft.OperationalInsights/workspaces/${DEPLOYMENT.workspace}/tables/DefenderExport_CL`,
  namespace: `${group}/providers/Microsoft.EventHub/namespaces/${DEPLOYMENT.namespace}`,
  site: `${group}/providers/Microsoft.Web/sites/${DEPLOYMENT.app}`,
  identity: `${group}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-defexp-local`,
  storage: `${group}/providers/Microsoft.Storage/storageAccounts/${DEPLOYMENT.storageAccount}`,
};

const MANAGEMENT_GROUP = '/providers/Microsoft.Management/managementGroups/contoso-security';
/** A stream column's type as a table spells it. */
const tableType = (type: string) => (type === 'datetime' ? 'dateTime' : type);

export interface SampleDeployment {
  resources: ArmResource[];
  roleAssignments: RoleAssignment[];
  appSettings: Record<string, Record<string, string>>;
}

/**
 * A healthy deployment whose rule has `immutableId` and `logsEndpoint` (the Logs Ingestion stand-in's), and
 * whose app has `settings` plus the resource ids doctor reads.
 */
export function sampleDeployment(options: {
  immutableId: string;
  logsEndpoint: string;
  settings: Record<string, string | undefined>;
}): SampleDeployment {
  // The rule declares the row's columns (infra/row-columns.json, kept equal to ROW_COLUMNS by the tests).
  const columns = ROW_COLUMNS.map((c) => ({ name: c.name, type: c.type }));
  const location = 'westeurope';
  const hubs = DEPLOYMENT.hubs.flatMap((hub): ArmResource[] => [
    {
      id: `${IDS.namespace}/eventhubs/${hub}`,
      name: hub,
      type: 'Microsoft.EventHub/namespaces/eventhubs',
      location,
      properties: {
        partitionIds: ['0', '1', '2', '3'],
        partitionCount: 4,
        messageRetentionInDays: 1,
        status: 'Active',
        createdAt: '2026-01-01T00:00:00Z',
        updatedAt: '2026-01-01T00:00:00Z',
      },
    },
    {
      id: `${IDS.namespace}/eventhubs/${hub}/consumergroups/${DEPLOYMENT.consumerGroup}`,
      name: DEPLOYMENT.consumerGroup,
      type: 'Microsoft.EventHub/namespaces/eventhubs/consumergroups',
      location,
      properties: { createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z' },
    },
  ]);
  const resources: ArmResource[] = [
    {
      id: IDS.rule,
      name: DEPLOYMENT.rule,
      type: 'Microsoft.Insights/dataCollectionRules',
      location,
      properties: {
        immutableId: options.immutableId,
        dataCollectionEndpointId: IDS.endpoint,
        streamDeclarations: { 'Custom-DefenderExport': { columns } },
        destinations: {
          logAnalytics: [
            {
              name: 'workspace',
              workspaceResourceId: IDS.workspace,
              workspaceId: '8a1e0000-0000-4000-8000-00000000000a',
            },
          ],
        },
        dataFlows: [
          {
            streams: ['Custom-DefenderExport'],
            destinations: ['workspace'],
            transformKql: 'source',
            outputStream: 'Custom-DefenderExport_CL',
          },
        ],
        provisioningState: 'Succeeded',
      },
    },
    {
      id: IDS.endpoint,
      name: DEPLOYMENT.endpoint,
      type: 'Microsoft.Insights/dataCollectionEndpoints',
      location,
      properties: {
        logsIngestion: { endpoint: options.logsEndpoint },
        networkAcls: { publicNetworkAccess: 'Enabled' },
        provisioningState: 'Succeeded',
      },
    },
    {
      id: IDS.table,
      name: 'DefenderExport_CL',
      type: 'Microsoft.OperationalInsights/workspaces/tables',
      properties: {
        plan: 'Analytics',
        retentionInDays: 90,
        provisioningState: 'Succeeded',
        schema: {
          name: 'DefenderExport_CL',
          tableType: 'CustomLog',
          tableSubType: 'DataCollectionRuleBased',
          columns: columns
            .filter((c) => c.name !== 'TimeGenerated')
            .map((c) => ({ name: c.name, type: tableType(c.type) })),
          standardColumns: [
            { name: 'TenantId', type: 'guid' },
            { name: 'TimeGenerated', type: 'dateTime' },
            { name: 'SourceSystem', type: 'string' },
            { name: 'Type', type: 'string' },
            { name: '_ResourceId', type: 'string' },
          ],
        },
      },
    },
    {
      id: IDS.namespace,
      name: DEPLOYMENT.namespace,
      type: 'Microsoft.EventHub/namespaces',
      location,
      properties: {
        serviceBusEndpoint: `https://${DEPLOYMENT.namespace}.servicebus.windows.net:443/`,
        status: 'Active',
        disableLocalAuth: true,
        provisioningState: 'Succeeded',
      },
    },
    ...hubs,
    {
      id: IDS.site,
      name: DEPLOYMENT.app,
      type: 'Microsoft.Web/sites',
      location,
      identity: {
        type: 'UserAssigned',
        userAssignedIdentities: {
          [IDS.identity]: { principalId: DEPLOYMENT.principalId, clientId: DEPLOYMENT.clientId },
        },
      },
      properties: {
        state: 'Running',
        kind: 'functionapp,linux',
        defaultHostName: `${DEPLOYMENT.app}.azurewebsites.net`,
      },
    },
  ];
  const principal = { principalId: DEPLOYMENT.principalId, principalType: 'ServicePrincipal' as const };
  const roleAssignments: RoleAssignment[] = [
    { ...principal, scope: IDS.rule, roleDefinition: ROLES.monitoringMetricsPublisher },
    ...DEPLOYMENT.hubs.map((hub) => ({
      ...principal,
      scope: `${IDS.namespace}/eventhubs/${hub}`,
      roleDefinition: ROLES.eventHubsDataReceiver,
    })),
    // As infra/coverage-access.bicep grants it: on the management group above every subscription.
    { ...principal, scope: MANAGEMENT_GROUP, roleDefinition: ROLES.securityReader },
  ];
  const settings = Object.fromEntries(
    Object.entries({
      ...options.settings,
      AZURE_CLIENT_ID: DEPLOYMENT.clientId,
      LOGS_DCR_RESOURCE_ID: IDS.rule,
      EVENTHUB_NAMESPACE_RESOURCE_ID: IDS.namespace,
      EventHubConnection__fullyQualifiedNamespace: `${DEPLOYMENT.namespace}.servicebus.windows.net`,
      DEFENDER_CLOUD_EVENTHUB: DEPLOYMENT.hubs[0],
      DEFENDER_XDR_EVENTHUB: DEPLOYMENT.hubs[1],
      EVENTHUB_CONSUMER_GROUP: DEPLOYMENT.consumerGroup,
    }).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  return { resources, roleAssignments, appSettings: { [IDS.site]: settings } };
}

/** The deployment's own subscription, covered by one export: an estate for the deployment alone. */
export function deploymentEstate(): EstateSubscription[] {
  return [
    {
      subscriptionId: DEPLOYMENT.subscriptionId,
      displayName: 'Security tooling',
      automations: [automation(DEPLOYMENT.subscriptionId, 'exportToEventHub')],
    },
  ];
}

/** Makes `arm` serve `deployment`, and nothing else it served before: its resources, roles and app settings. */
export function serveDeployment(arm: ArmStandIn, deployment: SampleDeployment): void {
  arm.resources.clear();
  for (const r of deployment.resources) arm.resources.set(r.id.toLowerCase(), r);
  arm.roleAssignments.splice(0, Infinity, ...deployment.roleAssignments);
  arm.appSettings.clear();
  for (const [site, values] of Object.entries(deployment.appSettings))
    arm.appSettings.set(site.toLowerCase(), values);
  arm.forbidden.clear();
}
