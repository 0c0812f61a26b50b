// Every role assignment of the deployment, in one place. Each list grants roles on one resource of this
// resource group (deploy the module once per resource group involved); names are guid(scope, principal,
// role) so a redeployment changes nothing.

@export()
@description('A role for a principal.')
type roleAssignment = {
  @description('Object id of the principal.')
  principalId: string
  @description('Role definition GUID.')
  roleDefinitionId: string
  @description('Kind of principal (ServicePrincipal for managed identities and resource providers).')
  principalType: ('ServicePrincipal' | 'User' | 'Group')?
}

@export()
@description('A role for a principal on one event hub.')
type eventHubRoleAssignment = {
  @description('The hub.')
  eventHubName: string
  @description('Object id of the principal.')
  principalId: string
  @description('Role definition GUID.')
  roleDefinitionId: string
}

@description('Storage account the storageAccountRoles apply to.')
param storageAccountName string = ''

@description('Roles on the storage account.')
param storageAccountRoles roleAssignment[] = []

@description('Data collection rule the dataCollectionRuleRoles apply to.')
param dataCollectionRuleName string = ''

@description('Roles on the data collection rule.')
param dataCollectionRuleRoles roleAssignment[] = []

@description('Application Insights component the applicationInsightsRoles apply to.')
param applicationInsightsName string = ''

@description('Roles on the Application Insights component.')
param applicationInsightsRoles roleAssignment[] = []

@description('Event Hubs namespace of the eventHubRoles.')
param eventHubNamespaceName string = ''

@description('Roles on single hubs (least privilege: not the whole namespace).')
param eventHubRoles eventHubRoleAssignment[] = []

resource storage 'Microsoft.Storage/storageAccounts@2026-09-01' existing = if (!empty(storageAccountName)) {
  name: storageAccountName
}

resource storageAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for a in storageAccountRoles: {
    name: guid(storage.id, a.principalId, a.roleDefinitionId)
    scope: storage
    properties: {
      principalId: a.principalId
      principalType: a.?principalType ?? 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', a.roleDefinitionId)
    }
  }
]

resource rule 'Microsoft.Insights/dataCollectionRules@2024-03-11' existing = if (!empty(dataCollectionRuleName)) {
  name: dataCollectionRuleName
}

resource ruleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for a in dataCollectionRuleRoles: {
    name: guid(rule.id, a.principalId, a.roleDefinitionId)
    scope: rule
    properties: {
      principalId: a.principalId
      principalType: a.?principalType ?? 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', a.roleDefinitionId)
    }
  }
]

resource insights 'Microsoft.Insights/components@2020-02-02' existing = if (!empty(applicationInsightsName)) {
  name: applicationInsightsName
}

resource insightsAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for a in applicationInsightsRoles: {
    name: guid(insights.id, a.principalId, a.roleDefinitionId)
    scope: insights
    properties: {
      principalId: a.principalId
      principalType: a.?principalType ?? 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', a.roleDefinitionId)
    }
  }
]

resource namespace 'Microsoft.EventHub/namespaces@2026-01-01' existing = if (!empty(eventHubNamespaceName)) {
  name: eventHubNamespaceName
}

resource hubs 'Microsoft.EventHub/namespaces/eventhubs@2026-01-01' existing = [
  for a in eventHubRoles: {
    parent: namespace
    name: a.eventHubName
  }
]

resource hubAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (a, i) in eventHubRoles: {
    name: guid(hubs[i].id, a.principalId, a.roleDefinitionId)
    scope: hubs[i]
    properties: {
      principalId: a.principalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', a.roleDefinitionId)
    }
  }
]
