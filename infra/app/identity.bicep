// The user-assigned identity the function app runs as. Every role in this template is granted
// to this identity, so it outlives a re-created function app.

param name string
param location string
param tags object = {}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output identityId string = identity.id
output identityClientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
