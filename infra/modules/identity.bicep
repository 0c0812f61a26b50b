// The user-assigned identity the function app runs as: every data-plane right is granted to it.
@description('Name of the identity.')
param name string

@description('Region.')
param location string

@description('Tags.')
param tags { *: string }

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: name
  location: location
  tags: tags
}

@description('Resource id of the identity.')
output id string = identity.id
@description('Client (application) id of the identity: AZURE_CLIENT_ID and the connections\' clientId.')
output clientId string = identity.properties.clientId
@description('Object id of the identity\'s service principal, which the roles are granted to.')
output principalId string = identity.properties.principalId
