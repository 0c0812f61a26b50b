// What the app adds to the workspace (new or existing; deployed in the workspace's resource group): the
// DefenderExport_CL table with the row's columns, the KQL functions of infra/kql/, and on request a second
// table, DefenderExportBulk_CL, with the same columns on a cheaper plan for the data ROUTES sends there.
@description('Workspace name.')
param workspaceName string

@description('Interactive retention of the table, in days.')
param retentionInDays int

@description('Total retention of the table, in days.')
param totalRetentionInDays int

@allowed(['none', 'Analytics', 'Basic', 'Auxiliary'])
@description('Plan of the bulk table DefenderExportBulk_CL, or none for no bulk table. The plan is set when the table is created: an Auxiliary table keeps it, and any table changes plan at most once a week.')
param bulkTablePlan string = 'none'

@minValue(30)
@maxValue(4383)
@description('Total retention of the bulk table, in days: 30 to 730, or whole years (1095, 1460, 1826, 2191, 2556, 2922, 3288, 3653, 4018 or 4383).')
param bulkTotalRetentionInDays int = 365

@description('The custom table the rows land in.')
var tableName = 'DefenderExport_CL'
@description('The custom table of the bulk stream (Custom-DefenderExportBulk).')
var bulkTableName = 'DefenderExportBulk_CL'
@description('A bulk table is created.')
var bulk = bulkTablePlan != 'none'
@description('The bulk table is on the Auxiliary plan, whose tables take no dynamic column: the row\'s dynamic columns (Properties) are strings there, holding the JSON text.')
var bulkAuxiliary = bulkTablePlan == 'Auxiliary'
@description('The row\'s columns (infra/row-columns.json).')
var columns = loadJsonContent('../row-columns.json').columns

resource workspace 'Microsoft.OperationalInsights/workspaces@2026-03-01' existing = {
  name: workspaceName
}

// Analytics, and no parameter to change it: the alert rules (alerts.bicep), the workbook and the KQL
// functions below all read this table, and the coverage and pipeline-health rows land in it. On Basic its
// log alerts would stop (Basic takes simple log alerts only) and every query would be billed by the GB it
// scans; Auxiliary has no alerts at all. Bulk data goes to the bulk table instead (bulkTablePlan).
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

// Created with its plan (an Auxiliary table can only be created so, and cannot change plan afterwards). The
// interactive retention is set on Analytics only: Basic and Auxiliary tables have none to set (Basic is
// queryable for 30 days, Auxiliary for the total retention).
resource bulkTable 'Microsoft.OperationalInsights/workspaces/tables@2026-03-01' = if (bulk) {
  parent: workspace
  name: bulkTableName
  properties: union(
    {
      plan: bulkTablePlan
      totalRetentionInDays: bulkTotalRetentionInDays
      schema: {
        name: bulkTableName
        description: 'Defender events that ROUTES sends to the bulk stream Custom-DefenderExportBulk, one row per event or part (defender-export).'
        columns: map(
          columns,
          column => {
            name: column.name
            type: column.type == 'datetime' ? 'dateTime' : (bulkAuxiliary && column.type == 'dynamic' ? 'string' : column.type)
          }
        )
      }
    },
    bulkTablePlan == 'Analytics' ? { retentionInDays: 30 } : {}
  )
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
@description('Name of the bulk table; empty when there is none.')
output bulkTableName string = bulk ? bulkTable.name : ''
