// The Logs Ingestion path: a data collection endpoint and a rule whose stream Custom-DefenderExport has
// the row's columns and flows unchanged into DefenderExport_CL; with a bulk table, a second stream with the
// same columns, Custom-DefenderExportBulk, flows into DefenderExportBulk_CL, in the same rule (one immutable id
// and one role assignment serve both).
@description('Name of the data collection endpoint.')
param endpointName string

@description('Name of the data collection rule.')
param ruleName string

@description('Region: the workspace\'s (a data collection endpoint must be in the region of the workspace it sends to).')
param location string

@description('Tags.')
param tags { *: string }

@description('Workspace the rule sends to.')
param workspaceId string

@description('The custom table (created before the rule, which checks that its output stream exists).')
param tableName string

@description('The bulk table (created before the rule, like the other); empty for no bulk stream.')
param bulkTableName string = ''

@allowed(['none', 'Analytics', 'Basic', 'Auxiliary'])
@description('Plan of the bulk table.')
param bulkTablePlan string = 'none'

@description('The stream the app sends (LOGS_STREAM_NAME).')
var streamName = 'Custom-DefenderExport'
@description('The row\'s columns (infra/row-columns.json), which the app\'s rows must match.')
var columns = loadJsonContent('../row-columns.json').columns
@description('The stream ROUTES sends bulk data to (`logs:Custom-DefenderExportBulk`).')
var bulkStreamName = 'Custom-DefenderExportBulk'
@description('A bulk stream is declared.')
var bulk = !empty(bulkTableName)
// An Auxiliary table takes no dynamic column: its flow turns Properties into the JSON text, so the app sends
// the same rows to both streams (the docs allow transformations into Auxiliary tables, and lift the
// 30-minute rule for them; the app keeps to it anyway, LOGS_AUXILIARY_STREAMS).
@description('The bulk flow\'s transformation: Properties as JSON text for an Auxiliary table, else none.')
var bulkTransform = bulkTablePlan == 'Auxiliary' ? 'source | extend Properties = tostring(Properties)' : 'source'
@description('The bulk stream when there is one; empty otherwise.')
var bulkStream = bulk ? bulkStreamName : ''

resource endpoint 'Microsoft.Insights/dataCollectionEndpoints@2024-03-11' = {
  name: endpointName
  location: location
  tags: tags
  properties: {
    networkAcls: { publicNetworkAccess: 'Enabled' }
  }
}

resource rule 'Microsoft.Insights/dataCollectionRules@2024-03-11' = {
  name: ruleName
  location: location
  tags: tags
  properties: {
    dataCollectionEndpointId: endpoint.id
    streamDeclarations: union(
      {
        '${streamName}': { columns: columns }
      },
      bulk ? { '${bulkStreamName}': { columns: columns } } : {}
    )
    destinations: {
      logAnalytics: [{ name: 'workspace', workspaceResourceId: workspaceId }]
    }
    dataFlows: concat(
      [
        {
          streams: [streamName]
          destinations: ['workspace']
          transformKql: 'source'
          outputStream: 'Custom-${tableName}'
        }
      ],
      bulk
        ? [
            {
              streams: [bulkStreamName]
              destinations: ['workspace']
              transformKql: bulkTransform
              outputStream: 'Custom-${bulkTableName}'
            }
          ]
        : []
    )
  }
}

@description('Name of the data collection rule.')
output dataCollectionRuleName string = rule.name
@description('Resource id of the data collection rule (LOGS_DCR_RESOURCE_ID).')
output dataCollectionRuleId string = rule.id
@description('Immutable id of the data collection rule (LOGS_DCR_IMMUTABLE_ID).')
output dataCollectionRuleImmutableId string = rule.properties.immutableId
@description('Logs ingestion endpoint of the data collection endpoint (LOGS_INGESTION_ENDPOINT).')
output logsIngestionEndpoint string = endpoint.properties.logsIngestion.endpoint
@description('LOGS_STREAM_NAME.')
output streamName string = streamName
@description('The bulk stream (for ROUTES), or empty when there is none.')
output bulkStreamName string = bulkStream
@description('LOGS_AUXILIARY_STREAMS: the streams (comma separated) whose table is on the Auxiliary plan; empty when none is.')
output auxiliaryStreams string = bulkTablePlan == 'Auxiliary' ? bulkStream : ''
