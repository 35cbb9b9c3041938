// The product's own storage account: the Functions host (blob leases, queue triggers), the
// evaluation and recreation queues, the findings and history tables, and the blob containers
// for deployment packages, recreation snapshots and event dead letters. Shared keys are off,
// so every client authenticates with Entra ID.

param storageAccountName string
param location string
param tags object = {}

@description('Principal id of the function app identity, granted the data roles below.')
param principalId string

@description('When true, public network access is disabled and clients come through private endpoints.')
param vnetEnabled bool = false

@description('Replication. Geo-redundant by default because recreation snapshots are the only copy of a deleted endpoint.')
@allowed([
  'Standard_GRS'
  'Standard_RAGRS'
  'Standard_GZRS'
  'Standard_RAGZRS'
])
param storageSkuName string = 'Standard_GRS'

param queueNames array
param tableNames array
param containerNames array

@description('Days deleted blobs and containers can be restored.')
@minValue(1)
param deleteRetentionDays int = 14

// Storage Blob Data Owner, Queue Data Contributor and Table Data Contributor: what the
// Functions host and the product's state code need on this account and nowhere else. Blob Data
// Owner (not Contributor) is what the Functions host documents for identity-based
// AzureWebJobsStorage.
var dataRoles = [
  'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
]

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  #checkov:skip=CKV_AZURE_35:Without virtual network integration the Flex Consumption app reaches this account over its public endpoint; vnetEnabled=true sets defaultAction Deny.
  #checkov:skip=CKV_AZURE_59:Public network access is disabled when vnetEnabled is true; without integration the app has no other path to its storage.
  #checkov:skip=CKV_AZURE_43:main.bicep passes 'st' plus uniqueString(), 15 lowercase letters and digits; checkov cannot resolve a parameter.
  name: storageAccountName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: storageSkuName
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    isLocalUserEnabled: false
    isSftpEnabled: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: vnetEnabled ? 'Disabled' : 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: vnetEnabled ? 'Deny' : 'Allow'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: deleteRetentionDays
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: deleteRetentionDays
    }
  }
}

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [
  for containerName in containerNames: {
    parent: blobService
    name: containerName
    properties: {
      publicAccess: 'None'
    }
  }
]

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [
  for queueName in queueNames: {
    parent: queueService
    name: queueName
  }
]

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [
  for tableName in tableNames: {
    parent: tableService
    name: tableName
  }
]

resource dataRoleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for roleId in dataRoles: {
    name: guid(account.id, principalId, roleId)
    scope: account
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
      principalId: principalId
      principalType: 'ServicePrincipal'
    }
  }
]

output storageAccountId string = account.id
output storageAccountName string = account.name
output blobEndpoint string = account.properties.primaryEndpoints.blob
output queueEndpoint string = account.properties.primaryEndpoints.queue
output tableEndpoint string = account.properties.primaryEndpoints.table
