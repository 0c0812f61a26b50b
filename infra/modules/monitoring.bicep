// Application Insights for the function app, workspace-based (its traces, including each batch's ledger
// line, land in AppTraces next to the data), Entra ID ingestion only.
@description('Component name.')
param name string

@description('Region.')
param location string

@description('Tags.')
param tags { *: string }

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

@description('Name of the component.')
output name string = insights.name
@description('Connection string of the component (APPLICATIONINSIGHTS_CONNECTION_STRING).')
output connectionString string = insights.properties.ConnectionString
