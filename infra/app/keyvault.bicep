// Key Vault for the Teams Workflows webhook URL, which carries a signature and so is a secret.
// Access is by Azure RBAC only: the function app identity reads secrets, and nothing else.

param keyVaultName string
param location string
param tags object = {}

@description('Principal id of the function app identity, granted Key Vault Secrets User.')
param principalId string

@description('When true, public network access is disabled and the app comes through a private endpoint.')
param vnetEnabled bool = false

@secure()
@description('Teams Workflows webhook URL. Empty leaves the secret out, and Teams alerts off.')
param teamsWebhookUrl string = ''

var teamsWebhookSecretName = 'teams-webhook-url'
var keyVaultSecretsUser = '4633458b-17de-408a-b874-0445c86b69e6'
var publicNetworkAccess = vnetEnabled ? 'Disabled' : 'Enabled'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  #checkov:skip=CKV_AZURE_109:Without virtual network integration the app resolves its Key Vault reference over the public endpoint; vnetEnabled=true sets defaultAction Deny and disables public access.
  #checkov:skip=CKV_AZURE_189:Public network access is disabled when vnetEnabled is true; without integration the app has no other path to the vault.
  name: keyVaultName
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enablePurgeProtection: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    publicNetworkAccess: publicNetworkAccess
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: vnetEnabled ? 'Deny' : 'Allow'
    }
  }
}

resource teamsWebhookSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(teamsWebhookUrl)) {
  #checkov:skip=CKV_AZURE_114:contentType is set below; checkov does not read the properties of a conditional resource.
  #checkov:skip=CKV_AZURE_41:A Workflows webhook URL has no expiry of its own; an expiry date here would stop Teams alerts without warning. Rotate by replacing the workflow and redeploying.
  parent: vault
  name: teamsWebhookSecretName
  properties: {
    value: teamsWebhookUrl
    contentType: 'text/uri'
  }
}

resource secretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, principalId, keyVaultSecretsUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUser)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

output keyVaultId string = vault.id
output keyVaultName string = vault.name

// Versionless, so a rotated secret is picked up without redeploying the app settings.
output teamsWebhookSecretUri string = empty(teamsWebhookUrl) ? '' : '${vault.properties.vaultUri}secrets/${teamsWebhookSecretName}'
