// A new Log Analytics workspace (when no existing one is given).
@description('Workspace name.')
param name string

@description('Region.')
param location string

@description('Tags.')
param tags object

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: 30
    features: { disableLocalAuth: true }
  }
}

output id string = workspace.id
output name string = workspace.name
