// Application Insights for the function app, workspace-based (its traces, including each batch's ledger
// line, land in AppTraces next to the data), Entra ID ingestion only.
@description('Component name.')
param name string

@description('Region.')
param location string

@description('Tags.')
param tags object

@description('Workspace the telemetry is kept in.')
param workspaceId string

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: name
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspaceId
    DisableLocalAuth: true
  }
}

output name string = insights.name
output connectionString string = insights.properties.ConnectionString
