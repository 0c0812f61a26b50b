// What the app adds to the workspace (new or existing; deployed in the workspace's resource group): the
// DefenderExport_CL table with the row's columns, and the KQL functions of infra/kql/.
@description('Workspace name.')
param workspaceName string

@description('Interactive retention of the table, in days.')
param retentionInDays int

@description('Total retention of the table, in days.')
param totalRetentionInDays int

@description('The custom table the rows land in.')
var tableName = 'DefenderExport_CL'
@description('The row\'s columns (infra/row-columns.json).')
var columns = loadJsonContent('../row-columns.json').columns

resource workspace 'Microsoft.OperationalInsights/workspaces@2026-03-01' existing = {
  name: workspaceName
}

resource table 'Microsoft.OperationalInsights/workspaces/tables@2026-03-01' = {
  parent: workspace
  name: tableName
  properties: {
    plan: 'Analytics'
    retentionInDays: retentionInDays
    totalRetentionInDays: totalRetentionInDays
    schema: {
      name: tableName
      description: 'Defender for Cloud continuous export and Defender XDR events, one row per event or part (defender-export).'
      // The tables API spells the type dateTime; the DCR stream, datetime.
      columns: map(columns, column => { name: column.name, type: column.type == 'datetime' ? 'dateTime' : column.type })
    }
  }
}

@description('The KQL functions of infra/kql/, in dependency order.')
var functions = [
  {
    alias: 'DefenderExportReassembled'
    parameters: 'lookback:timespan = 1d'
    query: loadTextContent('../kql/DefenderExportReassembled.kql')
  }
  {
    alias: 'DefenderExportEvents'
    parameters: 'lookback:timespan = 1d'
    query: loadTextContent('../kql/DefenderExportEvents.kql')
  }
  {
    alias: 'DefenderExportLatest'
    parameters: 'lookback:timespan = 7d, includeDeleted:bool = false'
    query: loadTextContent('../kql/DefenderExportLatest.kql')
  }
  {
    alias: 'DefenderExportCoverage'
    parameters: 'lookback:timespan = 1d'
    query: loadTextContent('../kql/DefenderExportCoverage.kql')
  }
]

// One after the other: each function may call the ones before it.
@batchSize(1)
resource savedFunctions 'Microsoft.OperationalInsights/workspaces/savedSearches@2026-03-01' = [
  for f in functions: {
    parent: workspace
    name: toLower(f.alias)
    properties: {
      category: 'defender-export'
      displayName: f.alias
      functionAlias: f.alias
      functionParameters: f.parameters
      query: f.query
      version: 2
    }
    dependsOn: [table]
  }
]

@description('Resource id of the workspace.')
output workspaceId string = workspace.id
@description('Region of the workspace.')
output location string = workspace.location
@description('Name of the custom table.')
output tableName string = table.name
