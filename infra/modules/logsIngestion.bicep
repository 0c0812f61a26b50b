// The Logs Ingestion path: a data collection endpoint and a rule whose stream Custom-DefenderExport has
// the row's columns and flows unchanged into DefenderExport_CL.
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

@description('The stream the app sends (LOGS_STREAM_NAME).')
var streamName = 'Custom-DefenderExport'
@description('The row\'s columns (infra/row-columns.json), which the app\'s rows must match.')
var columns = loadJsonContent('../row-columns.json').columns

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
    streamDeclarations: {
      '${streamName}': { columns: columns }
    }
    destinations: {
      logAnalytics: [{ name: 'workspace', workspaceResourceId: workspaceId }]
    }
    dataFlows: [
      {
        streams: [streamName]
        destinations: ['workspace']
        transformKql: 'source'
        outputStream: 'Custom-${tableName}'
      }
    ]
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
