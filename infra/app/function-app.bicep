// The function app on the Flex Consumption plan (FC1), running as the user-assigned identity.
// Every connection is identity-based: the host's storage, the deployment package container,
// Application Insights and the Key Vault reference for the Teams webhook.

param functionAppName string
param planName string
param location string
param tags object = {}

param identityId string
param identityClientId string
param storageAccountName string
param blobEndpoint string
param queueEndpoint string
param tableEndpoint string
param deploymentContainerName string
param applicationInsightsConnectionString string

@description('Product settings (REMEDIATOR_*, alerting) merged with the platform settings below.')
param appSettings object

@description('Subnet delegated to Microsoft.App/environments; empty runs without virtual network integration.')
param appSubnetId string = ''

@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

// A user-assigned-only identity must be named explicitly: AZURE_CLIENT_ID for
// DefaultAzureCredential in the app, __clientId for the host's storage connection, ClientId in
// the Application Insights authentication string. The service URIs come from the account, so
// sovereign clouds get their own endpoint suffixes.
var platformSettings = {
  AZURE_CLIENT_ID: identityClientId
  AzureWebJobsStorage__accountName: storageAccountName
  AzureWebJobsStorage__blobServiceUri: blobEndpoint
  AzureWebJobsStorage__queueServiceUri: queueEndpoint
  AzureWebJobsStorage__tableServiceUri: tableEndpoint
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD;ClientId=${identityClientId}'
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  #checkov:skip=CKV_AZURE_225:Zone redundancy for Flex Consumption exists only in some regions; a zonal outage delays remediation, and Event Grid retries and the sweep catch up afterwards.
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  #checkov:skip=CKV_AZURE_17:Callers authenticate with function keys (HTTP) and the Event Grid system key; client certificates are not part of either path.
  #checkov:skip=CKV_AZURE_222:Event Grid delivers to an AzureFunction endpoint through the app's public front end, so public access stays on; storage and Key Vault become private with vnetEnabled.
  #checkov:skip=CKV_AZURE_212:Flex Consumption scales to zero by design; a missed delivery is retried by Event Grid and caught by the daily sweep.
  #checkov:skip=CKV_AZURE_213:The app has no health route; Flex Consumption starts instances per execution and replaces failed ones.
  name: functionAppName
  location: location
  tags: union(tags, {
    'azd-service-name': 'api'
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // NOTE: with vnetEnabled the vault accepts private traffic only. Resolving this reference
    // through Flex Consumption virtual network integration has not been tried from here.
    keyVaultReferenceIdentity: identityId
    virtualNetworkSubnetId: empty(appSubnetId) ? null : appSubnetId
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: [
        for setting in items(union(appSettings, platformSettings)): {
          name: setting.key
          value: setting.value
        }
      ]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${blobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
}

output functionAppId string = functionApp.id
output functionAppName string = functionApp.name
output defaultHostName string = functionApp.properties.defaultHostName
