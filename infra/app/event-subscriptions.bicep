// Event subscriptions from one subscription's system topic to the Event Grid function. Deployed
// only once the function exists: Event Grid validates an AzureFunction destination on create,
// and the function appears only after the code is deployed (see docs/deploy.md).

param systemTopicName string

@description('Resource id of the function app.')
param functionAppId string

@description('Name of the Event Grid trigger function in the deployed code.')
param eventFunctionName string

param storageAccountId string
param deadLetterContainerName string

@minValue(1)
@maxValue(30)
param maxDeliveryAttempts int = 10

@minValue(1)
@maxValue(1440)
param eventTimeToLiveInMinutes int = 1440

// The ARM types the router handles, in ARM's spelling. It must match
// remediators.routing.HANDLED_RESOURCE_TYPES, which tests/infra checks. A child type is listed
// on its own because ARM names its operations after the child: `az network nsg rule create`
// fires Microsoft.Network/networkSecurityGroups/securityRules/write, not a write of the NSG.
var handledResourceTypes = [
  'Microsoft.MachineLearningServices/workspaces'
  'Microsoft.MachineLearningServices/workspaces/computes'
  'Microsoft.MachineLearningServices/workspaces/batchEndpoints'
  'Microsoft.MachineLearningServices/workspaces/batchEndpoints/deployments'
  'Microsoft.MachineLearningServices/workspaces/privateEndpointConnections'
  'Microsoft.MachineLearningServices/workspaces/outboundRules'
  'Microsoft.Storage/storageAccounts'
  'Microsoft.Storage/storageAccounts/privateEndpointConnections'
  'Microsoft.ContainerRegistry/registries'
  'Microsoft.ContainerRegistry/registries/privateEndpointConnections'
  'Microsoft.KeyVault/vaults'
  'Microsoft.KeyVault/vaults/privateEndpointConnections'
  'Microsoft.Network/privateEndpoints'
  'Microsoft.Network/privateEndpoints/privateDnsZoneGroups'
  'Microsoft.Network/virtualNetworks'
  'Microsoft.Network/virtualNetworks/subnets'
  'Microsoft.Network/networkSecurityGroups'
  'Microsoft.Network/networkSecurityGroups/securityRules'
  'Microsoft.Network/routeTables'
  'Microsoft.Network/routeTables/routes'
  'Microsoft.Network/natGateways'
  'Microsoft.Network/privateDnsZones'
  'Microsoft.Network/privateDnsZones/virtualNetworkLinks'
  'Microsoft.Network/privateDnsZones/A'
]

// Approving or rejecting a private endpoint connection arrives as ResourceActionSuccess with
// the parent's approval action, not as a write of the connection.
var approvalOperations = [
  'Microsoft.Storage/storageAccounts/privateEndpointConnectionsApproval/action'
  'Microsoft.ContainerRegistry/registries/privateEndpointConnectionsApproval/action'
  'Microsoft.KeyVault/vaults/privateEndpointConnectionsApproval/action'
  'Microsoft.MachineLearningServices/workspaces/privateEndpointConnectionsApproval/action'
]

var writeOperations = [for type in handledResourceTypes: '${type}/write']
var deleteOperations = [for type in handledResourceTypes: '${type}/delete']
var operationNames = concat(writeOperations, deleteOperations, approvalOperations)

// Event Grid allows 25 advanced filters and 25 filter values across all the filters of one
// event subscription, and 500 event subscriptions per topic (learn.microsoft.com/azure/
// event-grid/event-filtering#limitations and /azure/event-grid/quotas-limits). Each
// subscription therefore carries one StringIn filter of at most 25 operation names, and the
// names are split over as many subscriptions as they need. String filters compare
// case-insensitively, so ARM's mixed-case operation names match.
var filterValueLimit = 25
var chunkCount = (length(operationNames) + filterValueLimit - 1) / filterValueLimit
var operationNameChunks = [
  for i in range(0, chunkCount): take(skip(operationNames, i * filterValueLimit), filterValueLimit)
]

resource systemTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' existing = {
  name: systemTopicName
}

resource eventSubscriptions 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = [
  for (chunk, i) in operationNameChunks: {
    parent: systemTopic
    name: 'remediator-${i}'
    properties: {
      eventDeliverySchema: 'EventGridSchema'
      destination: {
        endpointType: 'AzureFunction'
        properties: {
          resourceId: '${functionAppId}/functions/${eventFunctionName}'
          maxEventsPerBatch: 1
          preferredBatchSizeInKilobytes: 64
        }
      }
      filter: {
        includedEventTypes: [
          'Microsoft.Resources.ResourceWriteSuccess'
          'Microsoft.Resources.ResourceDeleteSuccess'
          'Microsoft.Resources.ResourceActionSuccess'
        ]
        advancedFilters: [
          {
            operatorType: 'StringIn'
            key: 'data.operationName'
            values: chunk
          }
        ]
      }
      retryPolicy: {
        maxDeliveryAttempts: maxDeliveryAttempts
        eventTimeToLiveInMinutes: eventTimeToLiveInMinutes
      }
      deadLetterWithResourceIdentity: {
        identity: {
          type: 'SystemAssigned'
        }
        deadLetterDestination: {
          endpointType: 'StorageBlob'
          properties: {
            resourceId: storageAccountId
            blobContainerName: deadLetterContainerName
          }
        }
      }
    }
  }
]

output eventSubscriptionNames array = [for (chunk, i) in operationNameChunks: eventSubscriptions[i].name]
