// The function app on the Flex Consumption plan, Node 22, running as the user-assigned identity: every
// connection (host storage, Event Hubs, archive and state storage, Logs Ingestion, ARM, Application
// Insights) is identity-based, so no app setting holds a key.
@description('Function app name.')
param name string

@description('Region.')
param location string

@description('Tags.')
param tags { *: string }

@description('Resource id of the user-assigned identity.')
param identityId string

@description('Client id of the user-assigned identity.')
param identityClientId string

@description('Event Hubs namespace host name (<name>.servicebus.windows.net).')
param eventHubsNamespace string

@description('Blob endpoint of the app\'s storage account.')
param storageBlobEndpoint string

@description('Table endpoint of the app\'s storage account.')
param storageTableEndpoint string

@description('Container the plan deploys the package from.')
param deploymentContainerName string

@description('Application Insights connection string (not a secret: ingestion needs an Entra token).')
param applicationInsightsConnectionString string

@description('Most instances.')
param maximumInstanceCount int

@description('Memory per instance, in MB.')
param instanceMemoryMB int

@secure()
@description('The pipeline\'s own settings (README "Configure"), by name; secure because COVERAGE_WEBHOOK_URL carries a token.')
param settings { *: string }

resource plan 'Microsoft.Web/serverfarms@2025-03-01' = {
  name: 'plan-${name}'
  location: location
  tags: tags
  kind: 'functionapp'
  sku: { name: 'FC1', tier: 'FlexConsumption' }
  properties: { reserved: true }
}

resource app 'Microsoft.Web/sites@2025-03-01' = {
  name: name
  location: location
  // azd finds the app to publish by this tag (azure.yaml service "app").
  tags: union(tags, { 'azd-service-name': 'app' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: { minTlsVersion: '1.2', ftpsState: 'Disabled' }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${deploymentContainerName}'
          authentication: { type: 'UserAssignedIdentity', userAssignedIdentityResourceId: identityId }
        }
      }
      scaleAndConcurrency: { maximumInstanceCount: maximumInstanceCount, instanceMemoryMB: instanceMemoryMB }
      runtime: { name: 'node', version: '22' }
    }
  }
}

@description('Settings the Functions host and the Azure SDK read (the runtime itself is in functionAppConfig: Flex Consumption refuses FUNCTIONS_WORKER_RUNTIME and FUNCTIONS_EXTENSION_VERSION).')
var hostSettings = {
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  AzureWebJobsStorage__blobServiceUri: storageBlobEndpoint
  AzureWebJobsStorage__tableServiceUri: storageTableEndpoint
  EventHubConnection__fullyQualifiedNamespace: eventHubsNamespace
  EventHubConnection__credential: 'managedidentity'
  EventHubConnection__clientId: identityClientId
  ARCHIVE_STORAGE__blobServiceUri: storageBlobEndpoint
  ARCHIVE_STORAGE__clientId: identityClientId
  STATE_STORAGE__tableServiceUri: storageTableEndpoint
  STATE_STORAGE__clientId: identityClientId
  AZURE_CLIENT_ID: identityClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  FUNCTIONS_NODE_BLOCK_ON_ENTRY_POINT_ERROR: 'true'
}

resource appSettings 'Microsoft.Web/sites/config@2025-03-01' = {
  parent: app
  name: 'appsettings'
  properties: union(hostSettings, settings)
}

@description('Name of the function app.')
output name string = app.name
@description('Host name of the function app.')
output defaultHostName string = app.properties.defaultHostName
