// defender-export: everything the app needs in one resource group, with managed identities and no keys.
// Deploy: az deployment sub create -l <region> -f infra/main.bicep -p infra/main.bicepparam (or `azd up`).
targetScope = 'subscription'

// ---------- naming ----------
@minLength(1)
@maxLength(40)
@description('Name of the environment, used in resource names (e.g. "defender-export-prod").')
param environmentName string

@minLength(1)
@description('Region of every resource.')
param location string

@description('Resource group to create or reuse; default rg-<environmentName>.')
param resourceGroupName string = ''

@description('Tags for every resource.')
param tags { *: string } = {}

// ---------- Event Hubs ----------
@description('Resource id of an existing Event Hubs namespace (Standard tier or above: Basic has no consumer groups) whose hubs Defender already exports to; empty creates one.')
param existingEventHubNamespaceId string = ''

@description('Hub that Defender for Cloud continuous export sends to.')
param defenderCloudEventHubName string = 'defender-cloud'

@description('Hub that the Defender XDR streaming API sends to.')
param defenderXdrEventHubName string = 'defender-xdr'

@description('Consumer group the functions read with (created on both hubs).')
param consumerGroupName string = 'defender-export'

@minValue(1)
@maxValue(32)
@description('Partitions of each created hub (a new namespace only).')
param eventHubPartitionCount int = 4

@description('Object id of the "Windows Azure Security Resource Provider" service principal in this tenant (az ad sp show --id 8edd93e1-2103-40b4-bd70-6e34e586362d --query id -o tsv). Set it to let continuous export send to the hub in trusted-service mode (no connection string); empty skips the role.')
param securityProviderPrincipalId string = ''

// ---------- Log Analytics ----------
@description('Resource id of an existing Log Analytics workspace; empty creates one.')
param existingWorkspaceId string = ''

@minValue(4)
@maxValue(730)
@description('Interactive retention of DefenderExport_CL, in days.')
param tableRetentionInDays int = 90

@minValue(4)
@maxValue(4383)
@description('Total retention of DefenderExport_CL (interactive plus long-term), in days.')
param tableTotalRetentionInDays int = 365

// DefenderExport_CL stays on the Analytics plan: the alert rules, the workbook and the KQL functions read it.
@allowed(['none', 'Basic', 'Auxiliary', 'Analytics'])
@description('Plan of a second table, DefenderExportBulk_CL (same columns), fed by the stream Custom-DefenderExportBulk that ROUTES can send data types or XDR categories to (`logs:Custom-DefenderExportBulk`); none creates neither. Basic: cheaper ingestion, queries billed per GB scanned over the last 30 days. Auxiliary: cheapest ingestion, no alerts, slower queries billed per GB scanned over the whole retention, Properties stored as JSON text (parse_json). Choose before the first deployment: an Auxiliary table cannot change plan, any other at most once a week.')
param bulkTablePlan string = 'none'

@minValue(30)
@maxValue(4383)
@description('Total retention of DefenderExportBulk_CL, in days: 30 to 730, or whole years (1095, 1460, 1826, 2191, 2556, 2922, 3288, 3653, 4018 or 4383).')
param bulkTableTotalRetentionInDays int = 365

// ---------- storage ----------
@allowed(['Standard_LRS', 'Standard_GRS', 'Standard_RAGRS'])
@description('Redundancy of the storage account; the Archive tier exists for these only.')
param storageSku string = 'Standard_LRS'

@description('Days after which an archived batch moves to the Cool tier.')
param archiveCoolAfterDays int = 30

@description('Days after which an archived batch moves to the Archive tier.')
param archiveArchiveAfterDays int = 90

@description('Days after which an archived batch is deleted.')
param archiveDeleteAfterDays int = 365

@minValue(30)
@description('Days after which a parked item nobody redrove is deleted: at least REDRIVE_MAX_AGE_HOURS allows (720 h), so the redrive always gives up first.')
param parkedDeleteAfterDays int = 30

@description('Days after which a dead letter is deleted.')
param deadLetterDeleteAfterDays int = 180

// ---------- the pipeline (app settings; see README "Configure") ----------
@minValue(1024)
@maxValue(1048576)
@description('RECORD_SIZE_LIMIT_BYTES: most UTF-8 bytes one row may take as sent.')
param recordSizeLimitBytes int = 32768

@allowed(['split', 'trim'])
@description('OVERSIZE_STRATEGY: what to do with an event over the limit.')
param oversizeStrategy string = 'split'

@description('ROUTES: JSON array of routing rules.')
param routes string = '[{"to":["logs","archive"]}]'

@description('REDRIVE_SCHEDULE: NCRONTAB of redriveParked.')
param redriveSchedule string = '0 */5 * * * *'

@minValue(1)
@maxValue(100)
@description('REDRIVE_MAX_ATTEMPTS: attempts before a parked item is dead-lettered.')
param redriveMaxAttempts int = 10

@minValue(1)
@maxValue(720)
@description('REDRIVE_MAX_AGE_HOURS: age after which a parked item is dead-lettered.')
param redriveMaxAgeHours int = 72

// ---------- coverage ----------
@description('COVERAGE_DESTINATIONS: resource ids a subscription\'s export must send to (comma separated); empty means the Defender for Cloud hub deployed here. "off" disables reconcileCoverage.')
param coverageDestinations string = ''

@description('COVERAGE_SCOPE: "all" or subscription ids, comma separated.')
param coverageScope string = 'all'

@description('COVERAGE_REQUIRED_SOURCES: export sources every subscription must send; empty takes the app default.')
param coverageRequiredSources string = ''

@description('COVERAGE_REQUIRED_SEVERITIES: severities the export filters must not drop.')
param coverageRequiredSeverities string = 'High,Medium,Low'

@minValue(0)
@maxValue(8760)
@description('COVERAGE_STALE_AFTER_HOURS: silence of streaming data that makes a subscription Stale (0 = off).')
param coverageStaleAfterHours int = 48

@minValue(0)
@maxValue(365)
@description('COVERAGE_SNAPSHOT_STALE_AFTER_DAYS: silence of weekly snapshots that makes a subscription Stale (0 = off).')
param coverageSnapshotStaleAfterDays int = 8

@minValue(0)
@maxValue(8760)
@description('COVERAGE_REMINDER_HOURS: how often an open gap is alerted again.')
param coverageReminderHours int = 24

@secure()
@description('COVERAGE_WEBHOOK_URL: https incoming webhook (Teams, Slack, Logic App) for gap and recovery messages; empty sends none.')
param coverageWebhookUrl string = ''

@description('COVERAGE_SCHEDULE: NCRONTAB of reconcileCoverage.')
param coverageSchedule string = '0 0 */6 * * *'

@minValue(1)
@maxValue(100)
@description('COVERAGE_CONCURRENCY: concurrent ARM reads.')
param coverageConcurrency int = 16

@allowed(['resourcegraph', 'resourcemanager'])
@description('COVERAGE_SOURCE: read the estate through Resource Graph (a few paged queries at any size; changed statuses confirmed through Resource Manager) or Resource Manager (one call per subscription).')
param coverageSource string = 'resourcegraph'

@minValue(1)
@maxValue(168)
@description('COVERAGE_DISCOVERY_HOURS: over 18,000 subscriptions (more than one Resource Graph query may cover), how often Resource Manager lists them all to find new ones; between, the known ones are read through Resource Graph.')
param coverageDiscoveryHours int = 24

@description('COVERAGE_REMEDIATE: create or fix the export of a subscription with a gap (grant Security Admin with infra/coverage-access.bicep).')
param coverageRemediate bool = false

@description('COVERAGE_REMEDIATION_RESOURCE_GROUP: resource group, in each subscription, of a created export.')
param coverageRemediationResourceGroup string = ''

@description('COVERAGE_REMEDIATION_NAME: name of a created export.')
param coverageRemediationName string = 'exportToEventHub'

@description('COVERAGE_REMEDIATION_LOCATION: region of a created export; empty is this deployment\'s region.')
param coverageRemediationLocation string = ''

@description('COVERAGE_REMEDIATION_ADOPT: also rewrite exports this app did not create.')
param coverageRemediationAdopt bool = false

// ---------- backfill ----------
@description('BACKFILL_SCHEDULE: NCRONTAB of the backfill timer (each run reads for up to 7 minutes, then resumes at the next).')
param backfillSchedule string = '0 30 * * * *'

@description('BACKFILL_ON_DEPLOY: read the current Defender state of every subscription in scope from Resource Graph once, from the first backfill run on (needs the Security Reader of infra/coverage-access.bicep).')
param backfillOnDeploy bool = true

@description('BACKFILL_AFTER_RECOVERY: backfill a subscription at the next backfill run after its coverage gap closed.')
param backfillAfterRecovery bool = false

// ---------- the function app ----------
@minValue(40)
@maxValue(1000)
@description('Most instances the Flex Consumption plan scales to.')
param maximumInstanceCount int = 40

@allowed([512, 2048, 4096])
@description('Memory of each instance, in MB.')
param instanceMemoryMB int = 2048

// ---------- alerts ----------
@description('Email address for coverage and delivery alerts; empty sends no email.')
param alertEmail string = ''

@secure()
@description('Webhook (common alert schema) for coverage and delivery alerts; empty sends none.')
param alertWebhookUrl string = ''

@description('Suffix of the resource names: stable for a subscription, environment and region.')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))

@description('Every resource\'s tags, with the one azd finds the environment by.')
var allTags = union(tags, { 'azd-env-name': environmentName })

@description('An existing Event Hubs namespace is used (its hubs must exist).')
var useExistingNamespace = !empty(existingEventHubNamespaceId)

@description('An existing Log Analytics workspace is used.')
var useExistingWorkspace = !empty(existingWorkspaceId)

@description('Subscription of the Event Hubs namespace.')
var namespaceSubscription = useExistingNamespace ? split(existingEventHubNamespaceId, '/')[2] : subscription().subscriptionId

@description('Resource group of the Event Hubs namespace.')
var namespaceGroup = useExistingNamespace ? split(existingEventHubNamespaceId, '/')[4] : rg.name

@description('Name of the Event Hubs namespace.')
var namespaceName = useExistingNamespace ? last(split(existingEventHubNamespaceId, '/')) : 'evhns-${resourceToken}'

@description('Subscription of the Log Analytics workspace.')
var workspaceSubscription = useExistingWorkspace ? split(existingWorkspaceId, '/')[2] : subscription().subscriptionId

@description('Resource group of the Log Analytics workspace.')
var workspaceGroup = useExistingWorkspace ? split(existingWorkspaceId, '/')[4] : rg.name

@description('Name of the Log Analytics workspace.')
var workspaceName = useExistingWorkspace ? last(split(existingWorkspaceId, '/')) : 'log-${resourceToken}'

@description('Name of the function app.')
var functionAppName = 'func-${resourceToken}'

// The resources the role assignments are scoped to are named here, not taken from module outputs, so
// What-If can resolve their scopes (linter rule what-if-short-circuiting); each module that creates one
// of them is a dependsOn of the assignments.
@description('Name of the storage account.')
var storageAccountName = 'st${resourceToken}'

@description('Name of the data collection endpoint.')
var dataCollectionEndpointName = 'dce-${resourceToken}'

@description('Name of the data collection rule.')
var dataCollectionRuleName = 'dcr-${resourceToken}'

@description('Name of the Application Insights component.')
var applicationInsightsName = 'appi-${resourceToken}'

@description('Built-in role definition ids.')
var roles = {
  eventHubsDataReceiver: 'a638d3c7-ab3a-418d-83e6-5f17a39d4fde'
  eventHubsDataSender: '2b629674-e913-4c01-ae53-ef4638d8f975'
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
  reader: 'acdd72a7-3385-48ef-bd42-f606fba81ae7'
}

resource rg 'Microsoft.Resources/resourceGroups@2025-04-01' = {
  name: !empty(resourceGroupName) ? resourceGroupName : 'rg-${environmentName}'
  location: location
  tags: allTags
}

module identity 'modules/identity.bicep' = {
  scope: rg
  params: {
    name: 'id-${resourceToken}'
    location: location
    tags: allTags
  }
}

module storage 'modules/storage.bicep' = {
  scope: rg
  params: {
    name: storageAccountName
    location: location
    tags: allTags
    sku: storageSku
    deploymentContainerName: 'app-package-${functionAppName}'
    archiveCoolAfterDays: archiveCoolAfterDays
    archiveArchiveAfterDays: archiveArchiveAfterDays
    archiveDeleteAfterDays: archiveDeleteAfterDays
    parkedDeleteAfterDays: parkedDeleteAfterDays
    deadLetterDeleteAfterDays: deadLetterDeleteAfterDays
  }
}

module eventHubs 'modules/eventHubs.bicep' = {
  scope: resourceGroup(namespaceSubscription, namespaceGroup)
  // An explicit name, with the resource token: this module may deploy into another group (an existing
  // namespace's or workspace's) that other environments deploy to as well, and a generated name depends only
  // on the symbolic name and deployment().name: two environments deployed as "defender-export" would collide.
  #disable-next-line no-module-name
  name: 'eventHubs-${resourceToken}'
  params: {
    name: namespaceName
    createNamespace: !useExistingNamespace
    location: location
    tags: allTags
    hubNames: [defenderCloudEventHubName, defenderXdrEventHubName]
    partitionCount: eventHubPartitionCount
    consumerGroupName: consumerGroupName
  }
}

module workspace 'modules/workspace.bicep' = if (!useExistingWorkspace) {
  scope: rg
  params: {
    name: workspaceName
    location: location
    tags: allTags
  }
}

module workspaceContent 'modules/workspaceContent.bicep' = {
  scope: resourceGroup(workspaceSubscription, workspaceGroup)
  // Explicit name with the resource token: may deploy into another environment's group (see eventHubs).
  #disable-next-line no-module-name
  name: 'workspaceContent-${resourceToken}'
  params: {
    workspaceName: workspaceName
    retentionInDays: tableRetentionInDays
    totalRetentionInDays: tableTotalRetentionInDays
    bulkTablePlan: bulkTablePlan
    bulkTotalRetentionInDays: bulkTableTotalRetentionInDays
  }
  dependsOn: [workspace]
}

module logsIngestion 'modules/logsIngestion.bicep' = {
  scope: rg
  params: {
    endpointName: dataCollectionEndpointName
    ruleName: dataCollectionRuleName
    location: workspaceContent.outputs.location // the DCE must be in the workspace's region
    tags: allTags
    workspaceId: workspaceContent.outputs.workspaceId
    tableName: workspaceContent.outputs.tableName
    bulkTableName: workspaceContent.outputs.bulkTableName
    bulkTablePlan: bulkTablePlan
  }
}

module monitoring 'modules/monitoring.bicep' = {
  scope: rg
  params: {
    name: applicationInsightsName
    location: location
    tags: allTags
    workspaceId: workspaceContent.outputs.workspaceId
  }
}

module appRoles 'modules/rbac.bicep' = {
  scope: rg
  params: {
    storageAccountName: storageAccountName
    storageAccountRoles: [
      for role in [roles.storageBlobDataOwner, roles.storageTableDataContributor]: {
        principalId: identity.outputs.principalId
        roleDefinitionId: role
      }
    ]
    dataCollectionRuleName: dataCollectionRuleName
    // Reader on the rule alone: the timer watches it for drift from the row (lib/health/pipelineCheck.ts).
    dataCollectionRuleRoles: [
      for role in [roles.monitoringMetricsPublisher, roles.reader]: {
        principalId: identity.outputs.principalId
        roleDefinitionId: role
      }
    ]
    applicationInsightsName: applicationInsightsName
    applicationInsightsRoles: [{ principalId: identity.outputs.principalId, roleDefinitionId: roles.monitoringMetricsPublisher }]
  }
  dependsOn: [storage, logsIngestion, monitoring]
}

module hubRoles 'modules/rbac.bicep' = {
  scope: resourceGroup(namespaceSubscription, namespaceGroup)
  // Explicit name with the resource token: may deploy into another environment's group (see eventHubs).
  #disable-next-line no-module-name
  name: 'hubRoles-${resourceToken}'
  params: {
    eventHubNamespaceName: namespaceName
    eventHubRoles: concat(
      [
        {
          eventHubName: defenderCloudEventHubName
          principalId: identity.outputs.principalId
          roleDefinitionId: roles.eventHubsDataReceiver
        }
        {
          eventHubName: defenderXdrEventHubName
          principalId: identity.outputs.principalId
          roleDefinitionId: roles.eventHubsDataReceiver
        }
      ],
      // Trusted-service continuous export: the Defender for Cloud resource provider sends with its own identity.
      empty(securityProviderPrincipalId)
        ? []
        : [
            {
              eventHubName: defenderCloudEventHubName
              principalId: securityProviderPrincipalId
              roleDefinitionId: roles.eventHubsDataSender
            }
          ]
    )
  }
  dependsOn: [eventHubs]
}

@description('Resource id of the hub Defender for Cloud exports to.')
var defenderCloudHubId = '${eventHubs.outputs.id}/eventhubs/${defenderCloudEventHubName}'
@description('What COVERAGE_DESTINATIONS becomes: the hub deployed here by default, nothing (timer off) for "off".')
var coverageDestinationsSetting = coverageDestinations == 'off' ? '' : (empty(coverageDestinations) ? defenderCloudHubId : coverageDestinations)

module functionApp 'modules/functionApp.bicep' = {
  scope: rg
  params: {
    name: functionAppName
    location: location
    tags: allTags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    eventHubsNamespace: eventHubs.outputs.fullyQualifiedNamespace
    storageBlobEndpoint: storage.outputs.blobEndpoint
    storageTableEndpoint: storage.outputs.tableEndpoint
    deploymentContainerName: storage.outputs.deploymentContainerName
    applicationInsightsConnectionString: monitoring.outputs.connectionString
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    settings: {
      DEFENDER_CLOUD_EVENTHUB: defenderCloudEventHubName
      DEFENDER_XDR_EVENTHUB: defenderXdrEventHubName
      EVENTHUB_CONSUMER_GROUP: consumerGroupName
      LOGS_INGESTION_ENDPOINT: logsIngestion.outputs.logsIngestionEndpoint
      LOGS_DCR_IMMUTABLE_ID: logsIngestion.outputs.dataCollectionRuleImmutableId
      LOGS_STREAM_NAME: logsIngestion.outputs.streamName
      LOGS_AUXILIARY_STREAMS: logsIngestion.outputs.auxiliaryStreams
      LOGS_DCR_RESOURCE_ID: logsIngestion.outputs.dataCollectionRuleId
      EVENTHUB_NAMESPACE_RESOURCE_ID: eventHubs.outputs.id
      ARCHIVE_CONTAINER: storage.outputs.archiveContainerName
      PARKED_CONTAINER: storage.outputs.parkedContainerName
      DEADLETTER_CONTAINER: storage.outputs.deadLetterContainerName
      RECORD_SIZE_LIMIT_BYTES: string(recordSizeLimitBytes)
      OVERSIZE_STRATEGY: oversizeStrategy
      ROUTES: routes
      REDRIVE_SCHEDULE: redriveSchedule
      REDRIVE_MAX_ATTEMPTS: string(redriveMaxAttempts)
      REDRIVE_MAX_AGE_HOURS: string(redriveMaxAgeHours)
      AZURE_RESOURCE_MANAGER_ENDPOINT: environment().resourceManager
      COVERAGE_DESTINATIONS: coverageDestinationsSetting
      COVERAGE_SCOPE: coverageScope
      COVERAGE_REQUIRED_SOURCES: coverageRequiredSources
      COVERAGE_REQUIRED_SEVERITIES: coverageRequiredSeverities
      COVERAGE_STALE_AFTER_HOURS: string(coverageStaleAfterHours)
      COVERAGE_SNAPSHOT_STALE_AFTER_DAYS: string(coverageSnapshotStaleAfterDays)
      COVERAGE_REMINDER_HOURS: string(coverageReminderHours)
      COVERAGE_WEBHOOK_URL: coverageWebhookUrl
      COVERAGE_SCHEDULE: coverageSchedule
      COVERAGE_CONCURRENCY: string(coverageConcurrency)
      COVERAGE_SOURCE: coverageSource
      COVERAGE_DISCOVERY_HOURS: string(coverageDiscoveryHours)
      COVERAGE_REMEDIATE: coverageRemediate ? 'true' : 'false'
      COVERAGE_REMEDIATION_RESOURCE_GROUP: coverageRemediationResourceGroup
      COVERAGE_REMEDIATION_NAME: coverageRemediationName
      COVERAGE_REMEDIATION_LOCATION: empty(coverageRemediationLocation) ? location : coverageRemediationLocation
      COVERAGE_REMEDIATION_ADOPT: coverageRemediationAdopt ? 'true' : 'false'
      BACKFILL_SCHEDULE: backfillSchedule
      BACKFILL_ON_DEPLOY: backfillOnDeploy ? 'true' : 'false'
      BACKFILL_AFTER_RECOVERY: backfillAfterRecovery ? 'true' : 'false'
    }
  }
  dependsOn: [appRoles, hubRoles]
}

// The rules query DefenderExport_CL and its functions: taking workspaceId from workspaceContent's outputs
// makes this deployment wait until that one, which creates the table and the functions, has finished.
module alerts 'modules/alerts.bicep' = {
  scope: rg
  params: {
    name: resourceToken
    location: location
    tags: allTags
    workspaceId: workspaceContent.outputs.workspaceId
    email: alertEmail
    webhookUrl: alertWebhookUrl
  }
}

module workbook 'modules/workbook.bicep' = {
  scope: rg
  params: {
    location: location
    tags: allTags
    workspaceId: workspaceContent.outputs.workspaceId
  }
}

// Every value the app, the command line and a user need (azd writes them to .azure/<env>/.env).
@description('Region of the deployment.')
output AZURE_LOCATION string = location
@description('The app\'s resource group.')
output AZURE_RESOURCE_GROUP string = rg.name
@description('The function app to publish the code to.')
output FUNCTION_APP_NAME string = functionApp.outputs.name
@description('Client id of the app\'s identity.')
output AZURE_CLIENT_ID string = identity.outputs.clientId
@description('Object id of the app\'s identity: grant it Security Reader (infra/coverage-access.bicep).')
output IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
@description('Host name of the Event Hubs namespace.')
output EVENTHUB_NAMESPACE string = eventHubs.outputs.fullyQualifiedNamespace
@description('Resource id of the hub to point Defender for Cloud continuous export at.')
output DEFENDER_CLOUD_EVENTHUB_ID string = defenderCloudHubId
@description('Hub of Defender for Cloud continuous export.')
output DEFENDER_CLOUD_EVENTHUB string = defenderCloudEventHubName
@description('Hub of the Defender XDR streaming API.')
output DEFENDER_XDR_EVENTHUB string = defenderXdrEventHubName
@description('Consumer group the functions read with.')
output EVENTHUB_CONSUMER_GROUP string = consumerGroupName
@description('Logs ingestion endpoint of the data collection endpoint.')
output LOGS_INGESTION_ENDPOINT string = logsIngestion.outputs.logsIngestionEndpoint
@description('Immutable id of the data collection rule.')
output LOGS_DCR_IMMUTABLE_ID string = logsIngestion.outputs.dataCollectionRuleImmutableId
@description('Stream of the data collection rule.')
output LOGS_STREAM_NAME string = logsIngestion.outputs.streamName
@description('Bulk stream of the data collection rule, for ROUTES (`logs:<it>`); empty: no bulk table.')
output LOGS_BULK_STREAM_NAME string = logsIngestion.outputs.bulkStreamName
@description('Streams whose table is on the Auxiliary plan, comma separated (empty: none).')
output LOGS_AUXILIARY_STREAMS string = logsIngestion.outputs.auxiliaryStreams
@description('Resource id of the data collection rule (LOGS_DCR_RESOURCE_ID, read by doctor).')
output LOGS_DCR_RESOURCE_ID string = logsIngestion.outputs.dataCollectionRuleId
@description('Resource id of the Event Hubs namespace (EVENTHUB_NAMESPACE_RESOURCE_ID, read by doctor).')
output EVENTHUB_NAMESPACE_RESOURCE_ID string = eventHubs.outputs.id
@description('Resource id of the Log Analytics workspace.')
output LOG_ANALYTICS_WORKSPACE_ID string = workspaceContent.outputs.workspaceId
@description('Blob endpoint of the storage account.')
output ARCHIVE_STORAGE__blobServiceUri string = storage.outputs.blobEndpoint
@description('Table endpoint of the storage account.')
output STATE_STORAGE__tableServiceUri string = storage.outputs.tableEndpoint
@description('Resource ids a subscription\'s export must send to (empty: reconciliation off).')
output COVERAGE_DESTINATIONS string = coverageDestinationsSetting
