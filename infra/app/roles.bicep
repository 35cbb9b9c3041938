// Custom role definitions holding only the actions the remediator performs. They are defined
// once, in the deployment subscription, and assignable in every target subscription.

targetScope = 'subscription'

param environmentName string

@description('Subscriptions the remediator watches; the roles are assignable there.')
param targetSubscriptionIds array

// Each role lists explicit actions, never a wildcard, so a new provider operation is never
// granted by accident.
var roles = [
  {
    key: 'reader'
    roleName: 'Batch endpoint remediator reader (${environmentName})'
    description: 'Reads workspaces, their batch endpoints and every network resource the isolation rules judge, directly and through Azure Resource Graph.'
    actions: [
      'Microsoft.Resources/subscriptions/read'
      'Microsoft.Resources/subscriptions/resourceGroups/read'
      'Microsoft.ResourceGraph/resources/read'
      'Microsoft.MachineLearningServices/workspaces/read'
      'Microsoft.MachineLearningServices/workspaces/computes/read'
      'Microsoft.MachineLearningServices/workspaces/privateEndpointConnections/read'
      'Microsoft.MachineLearningServices/workspaces/outboundRules/read'
      'Microsoft.Storage/storageAccounts/read'
      'Microsoft.Storage/storageAccounts/privateEndpointConnections/read'
      'Microsoft.ContainerRegistry/registries/read'
      'Microsoft.ContainerRegistry/registries/privateEndpointConnections/read'
      'Microsoft.KeyVault/vaults/read'
      'Microsoft.KeyVault/vaults/privateEndpointConnections/read'
      'Microsoft.Network/privateEndpoints/read'
      'Microsoft.Network/privateEndpoints/privateDnsZoneGroups/read'
      'Microsoft.Network/privateDnsZones/read'
      // The sweep lists each zone's A records once instead of reading the zone groups of
      // every private endpoint. Without it the sweep still works, at one more read per endpoint.
      'Microsoft.Network/privateDnsZones/A/read'
      'Microsoft.Network/virtualNetworks/read'
      'Microsoft.Network/virtualNetworks/subnets/read'
      'Microsoft.Network/networkSecurityGroups/read'
      'Microsoft.Network/routeTables/read'
      'Microsoft.Network/natGateways/read'
    ]
  }
  {
    key: 'network'
    roleName: 'Batch endpoint remediator network (${environmentName})'
    description: 'Creates private endpoints and their DNS zone groups, approves the connections they request, and adds managed outbound rules to workspaces with a managed network.'
    actions: [
      'Microsoft.Network/privateEndpoints/read'
      'Microsoft.Network/privateEndpoints/write'
      'Microsoft.Network/privateEndpoints/privateDnsZoneGroups/read'
      'Microsoft.Network/privateEndpoints/privateDnsZoneGroups/write'
      'Microsoft.Network/virtualNetworks/subnets/join/action'
      'Microsoft.Network/privateDnsZones/join/action'
      // NOTE: the two polling actions are taken from the provider operation list; confirm with
      // `az provider operation show --namespace Microsoft.Network` if a create stalls on 403.
      'Microsoft.Network/locations/operations/read'
      'Microsoft.Network/locations/operationResults/read'
      'Microsoft.Storage/storageAccounts/privateEndpointConnectionsApproval/action'
      'Microsoft.ContainerRegistry/registries/privateEndpointConnectionsApproval/action'
      'Microsoft.KeyVault/vaults/privateEndpointConnectionsApproval/action'
      'Microsoft.MachineLearningServices/workspaces/privateEndpointConnectionsApproval/action'
      'Microsoft.MachineLearningServices/workspaces/outboundRules/write'
    ]
  }
  {
    key: 'batch-endpoints'
    roleName: 'Batch endpoint remediator endpoints (${environmentName})'
    description: 'Reads, deletes and recreates batch endpoints and deployments that kept a public network configuration, and waits for their running jobs.'
    actions: [
      'Microsoft.MachineLearningServices/workspaces/batchEndpoints/read'
      'Microsoft.MachineLearningServices/workspaces/batchEndpoints/write'
      'Microsoft.MachineLearningServices/workspaces/batchEndpoints/delete'
      'Microsoft.MachineLearningServices/workspaces/batchEndpoints/deployments/read'
      'Microsoft.MachineLearningServices/workspaces/batchEndpoints/deployments/write'
      'Microsoft.MachineLearningServices/workspaces/batchEndpoints/deployments/delete'
      'Microsoft.MachineLearningServices/workspaces/jobs/read'
      // NOTE: recreating a deployment that references registered models or environments may
      // also need their read actions; none are granted until a recreation shows it.
    ]
  }
]

var targetScopes = [for subscriptionId in targetSubscriptionIds: '/subscriptions/${subscriptionId}']
var assignableScopes = union([subscription().id], targetScopes)

resource definitions 'Microsoft.Authorization/roleDefinitions@2022-04-01' = [
  for role in roles: {
    name: guid(subscription().id, environmentName, role.key)
    properties: {
      roleName: role.roleName
      description: role.description
      type: 'CustomRole'
      permissions: [
        {
          actions: role.actions
          notActions: []
        }
      ]
      assignableScopes: assignableScopes
    }
  }
]

@description('Role definition names (GUIDs), resolved in each target subscription for assignment.')
output roleDefinitionNames array = [for (role, i) in roles: definitions[i].name]
