// Rights of the reconciler on one subscription: Security Reader, and Security Admin when remediation is on.
// az deployment sub create --subscription <id> -l <region> -f infra/coverage-access-subscription.bicep \
//   -p principalId=<IDENTITY_PRINCIPAL_ID output of main.bicep> remediate=false
targetScope = 'subscription'

@description('Object id of the function app\'s identity (output IDENTITY_PRINCIPAL_ID of main.bicep).')
param principalId string

@description('Also grant Security Admin, which COVERAGE_REMEDIATE needs to write exports.')
param remediate bool = false

@description('Role definition ids to grant: Security Reader, and Security Admin when remediate is set.')
var roles = concat(
  ['39bc4728-0917-49c7-9d2c-d95423bc2eb4'], // Security Reader
  remediate ? ['fb1c8493-542b-48eb-b624-b4c8fea62acd'] : [] // Security Admin
)

resource assignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for role in roles: {
    name: guid(subscription().id, principalId, role)
    properties: {
      principalId: principalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
    }
  }
]
