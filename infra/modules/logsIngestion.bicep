// The Logs Ingestion path: a data collection endpoint and a rule whose stream Custom-DefenderExport has
// the row's columns and flows unchanged into DefenderExport_CL.
@description('Suffix of the endpoint and rule names.')
param name string

@description('Region: the workspace\'s (a data collection endpoint must be in the region of the workspace it sends to).')
param location string

@description('Tags.')
param tags object

@description('Workspace the rule sends to.')
param workspaceId string

@description('The custom table (created before the rule, which checks that its output stream exists).')
param tableName string

var streamName = 'Custom-DefenderExport'
var columns = loadJsonContent('../row-columns.json').columns

resource endpoint 'Microsoft.Insights/dataCollectionEndpoints@2023-03-11' = {
  name: 'dce-${name}'
  location: location
  tags: tags
  properties: {
    networkAcls: { publicNetworkAccess: 'Enabled' }
  }
}

resource rule 'Microsoft.Insights/dataCollectionRules@2023-03-11' = {
  name: 'dcr-${name}'
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

output dataCollectionRuleName string = rule.name
output dataCollectionRuleImmutableId string = rule.properties.immutableId
output logsIngestionEndpoint string = endpoint.properties.logsIngestion.endpoint
output streamName string = streamName
