// A new Log Analytics workspace (when no existing one is given).
@description('Workspace name.')
param name string

@description('Region.')
param location string

@description('Tags.')
param tags { *: string }

resource workspace 'Microsoft.OperationalInsights/workspaces@2026-03-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: 30
    features: { disableLocalAuth: true }
  }
}

@description('Resource id of the workspace.')
output id string = workspace.id
@description('Name of the workspace.')
output name string = workspace.name
