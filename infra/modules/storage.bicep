// The app's storage: the Functions host (AzureWebJobsStorage, checkpoints), the deployment package, the
// archive, parked and dead-letter containers and the state tables. Entra ID only: no shared keys.
@description('Storage account name (3-24 lower-case letters and digits).')
param name string

@description('Region.')
param location string

@description('Tags.')
param tags object

@description('Redundancy; the Archive tier exists for LRS, GRS and RA-GRS.')
param sku string

@description('Container the Flex Consumption plan deploys the app package from.')
param deploymentContainerName string

@description('Archive container (ARCHIVE_CONTAINER).')
param archiveContainerName string = 'defender-archive'

@description('Parked container (PARKED_CONTAINER).')
param parkedContainerName string = 'defender-parked'

@description('Dead-letter container (DEADLETTER_CONTAINER).')
param deadLetterContainerName string = 'defender-deadletter'

@description('Days after which an archived batch moves to Cool.')
param archiveCoolAfterDays int

@description('Days after which an archived batch moves to Archive.')
param archiveArchiveAfterDays int

@description('Days after which an archived batch is deleted.')
param archiveDeleteAfterDays int

@description('Days after which a parked item is deleted.')
param parkedDeleteAfterDays int

@description('Days after which a dead letter is deleted.')
param deadLetterDeleteAfterDays int

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: sku }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: { defaultAction: 'Allow', bypass: 'AzureServices' }
  }
}

resource blobs 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [
  for container in [deploymentContainerName, archiveContainerName, parkedContainerName, deadLetterContainerName]: {
    parent: blobs
    name: container
    properties: { publicAccess: 'None' }
  }
]

resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'archive-tiers'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: { blobTypes: ['blockBlob'], prefixMatch: ['${archiveContainerName}/'] }
            actions: {
              baseBlob: {
                tierToCool: { daysAfterModificationGreaterThan: archiveCoolAfterDays }
                tierToArchive: { daysAfterModificationGreaterThan: archiveArchiveAfterDays }
                delete: { daysAfterModificationGreaterThan: archiveDeleteAfterDays }
              }
            }
          }
        }
        {
          name: 'parked-retention'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: { blobTypes: ['blockBlob'], prefixMatch: ['${parkedContainerName}/'] }
            actions: { baseBlob: { delete: { daysAfterModificationGreaterThan: parkedDeleteAfterDays } } }
          }
        }
        {
          name: 'deadletter-retention'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: { blobTypes: ['blockBlob'], prefixMatch: ['${deadLetterContainerName}/'] }
            actions: { baseBlob: { delete: { daysAfterModificationGreaterThan: deadLetterDeleteAfterDays } } }
          }
        }
      ]
    }
  }
  dependsOn: [containers]
}

output name string = account.name
output blobEndpoint string = account.properties.primaryEndpoints.blob
output tableEndpoint string = account.properties.primaryEndpoints.table
output deploymentContainerName string = deploymentContainerName
output archiveContainerName string = archiveContainerName
output parkedContainerName string = parkedContainerName
output deadLetterContainerName string = deadLetterContainerName
