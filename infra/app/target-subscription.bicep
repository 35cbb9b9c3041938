// Everything the remediator needs in one watched subscription: its custom roles assigned to
// the function app identity at subscription scope, and a resource group holding the Event Grid
// system topic for the subscription's resource events.

targetScope = 'subscription'

param environmentName string
param location string
param tags object = {}

@description('Principal id of the function app identity.')
param principalId string

@description('Custom role definition names (GUIDs) from roles.bicep.')
param roleDefinitionNames array

param eventResourceGroupName string

resource roleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for roleDefinitionName in roleDefinitionNames: {
    name: guid(subscription().id, principalId, roleDefinitionName)
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionName)
      principalId: principalId
      principalType: 'ServicePrincipal'
    }
  }
]

resource eventResourceGroup 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: eventResourceGroupName
  location: location
  tags: tags
}

module systemTopic 'event-topic.bicep' = {
  name: 'event-topic-${environmentName}'
  scope: eventResourceGroup
  params: {
    environmentName: environmentName
    tags: tags
  }
}

output eventResourceGroupName string = eventResourceGroup.name
output systemTopicName string = systemTopic.outputs.systemTopicName
output systemTopicPrincipalId string = systemTopic.outputs.systemTopicPrincipalId
