// Onboards one subscription's continuous export to the defender-export hub (optional: the reconciler can do
// the same with COVERAGE_REMEDIATE, and Defender's built-in policy for new subscriptions).
// az deployment sub create --subscription <id> -l <region> -f infra/onboard-subscription.bicep \
//   -p eventHubResourceId=<DEFENDER_CLOUD_EVENTHUB_ID output of main.bicep>
targetScope = 'subscription'

@description('Resource id of the Defender for Cloud event hub (output DEFENDER_CLOUD_EVENTHUB_ID of main.bicep).')
param eventHubResourceId string

@description('Resource group for the automation resource (created if missing).')
param resourceGroupName string = 'rg-defender-export'

@description('Region of the resource group and the automation.')
param location string = deployment().location

@description('Automation name.')
param name string = 'exportToEventHub'

resource group 'Microsoft.Resources/resourceGroups@2025-04-01' = {
  name: resourceGroupName
  location: location
}

module export 'modules/continuousExport.bicep' = {
  scope: group
  params: {
    name: name
    location: location
    eventHubResourceId: eventHubResourceId
  }
}

@description('Resource id of the created automation.')
output automationId string = export.outputs.id
