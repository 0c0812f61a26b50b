// The Event Hubs namespace and hubs Defender exports to (created, or an existing namespace's hubs), and
// the consumer group the functions read with. Entra ID only: local (SAS) auth is off on a new namespace.
@description('Namespace name.')
param name string

@description('Create the namespace and hubs; false uses an existing namespace whose hubs exist.')
param createNamespace bool

@description('Region (a new namespace only).')
param location string

@description('Tags (a new namespace only).')
param tags { *: string }

@description('Hubs the functions read.')
param hubNames string[]

@description('Partitions of each created hub.')
param partitionCount int

@description('Consumer group created on each hub.')
param consumerGroupName string

resource created 'Microsoft.EventHub/namespaces@2026-01-01' = if (createNamespace) {
  name: name
  location: location
  tags: tags
  sku: { name: 'Standard', tier: 'Standard', capacity: 1 }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    isAutoInflateEnabled: true
    maximumThroughputUnits: 10
  }
}

resource createdHubs 'Microsoft.EventHub/namespaces/eventhubs@2026-01-01' = [
  for hub in hubNames: if (createNamespace) {
    parent: created
    name: hub
    properties: {
      partitionCount: partitionCount
      messageRetentionInDays: 7
    }
  }
]

resource namespace 'Microsoft.EventHub/namespaces@2026-01-01' existing = {
  name: name
}

resource hubs 'Microsoft.EventHub/namespaces/eventhubs@2026-01-01' existing = [
  for hub in hubNames: {
    parent: namespace
    name: hub
  }
]

resource consumerGroups 'Microsoft.EventHub/namespaces/eventhubs/consumergroups@2026-01-01' = [
  for (hub, i) in hubNames: {
    parent: hubs[i]
    name: consumerGroupName
    dependsOn: [createdHubs]
  }
]

@description('Resource id of the namespace.')
output id string = namespace.id
@description('Name of the namespace.')
output name string = namespace.name
@description('Host of the namespace\'s endpoint (<name>.servicebus.windows.net in the public cloud, whose serviceBusEndpoint is https://<name>.servicebus.windows.net:443/).')
output fullyQualifiedNamespace string = split(split(namespace.properties.serviceBusEndpoint, '//')[1], ':')[0]
