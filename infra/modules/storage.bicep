// The app's storage: the Functions host (AzureWebJobsStorage, checkpoints), the deployment package, the
// archive, parked and dead-letter containers and the state tables. Entra ID only: no shared keys.
@description('Storage account name (3-24 lower-case letters and digits).')
param name string

@description('Region.')
param location string

@description('Tags.')
param tags { *: string }

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

resource account 'Microsoft.Storage/storageAccounts@2026-09-01' = {
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

resource blobs 'Microsoft.Storage/storageAccounts/blobServices@2026-09-01' = {
  parent: account
  name: 'default'
}

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2026-09-01' = [
  for container in [deploymentContainerName, archiveContainerName, parkedContainerName, deadLetterContainerName]: {
    parent: blobs
    name: container
    properties: { publicAccess: 'None' }
  }
]

resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2026-09-01' = {
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

@description('Name of the account.')
output name string = account.name
@description('Blob endpoint of the account (https://<name>.blob.core.windows.net/ in the public cloud).')
output blobEndpoint string = account.properties.primaryEndpoints.blob
@description('Table endpoint of the account.')
output tableEndpoint string = account.properties.primaryEndpoints.table
@description('Container the plan deploys the package from.')
output deploymentContainerName string = deploymentContainerName
@description('ARCHIVE_CONTAINER.')
output archiveContainerName string = archiveContainerName
@description('PARKED_CONTAINER.')
output parkedContainerName string = parkedContainerName
@description('DEADLETTER_CONTAINER.')
output deadLetterContainerName string = deadLetterContainerName
