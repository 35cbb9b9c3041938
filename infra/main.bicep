// Deploys the batch endpoint network isolation remediator: a Python Azure Functions app on
// Flex Consumption with its own storage, monitoring and Key Vault, custom least-privilege
// roles in every watched subscription, and Event Grid system topics feeding the Event Grid
// function. azd runs this at subscription scope; see docs/deploy.md.

targetScope = 'subscription'

@minLength(1)
@maxLength(40)
@description('azd environment name; part of every resource name.')
param environmentName string

@minLength(1)
@description('Region of the resource group and its resources.')
param location string

@description('Subscriptions whose workspaces the remediator checks and repairs. Empty means the deployment subscription.')
param targetSubscriptionIds array = []

@allowed([
  'alert'
  'remediate'
])
@description('alert only reports findings; remediate also performs each rule\'s action.')
param remediatorMode string = 'alert'

@description('Per-rule overrides, rule-id=alert or rule-id=remediate, comma-separated.')
param remediatorRuleModes string = ''

@description('When true, nothing is written anywhere, alerts included.')
param remediatorDryRun bool = false

@description('Subnet for the private endpoints the remediator creates; empty uses the workspace\'s own private endpoint subnet.')
param privateEndpointSubnetId string = ''

@description('Subscription or resource group id (/subscriptions/<id>[/resourceGroups/<rg>]) holding the private DNS zones.')
param dnsZoneScope string = ''

@description('True when the organisation resolves private endpoints with its own DNS: DNS findings then only alert.')
param customDns bool = false

@secure()
@description('Teams Workflows webhook URL, stored in Key Vault. Empty turns Teams alerts off.')
param teamsWebhookUrl string = ''

@description('Deploy Azure Communication Services email for email alerts.')
param deployCommunicationServices bool = false

@description('Sender address; empty uses the Azure-managed domain of the deployed email service.')
param emailSender string = ''

@description('Comma-separated alert recipients. Empty turns email alerts off.')
param emailRecipients string = ''

@description('Communication Services endpoint of an existing resource; empty uses the deployed one.')
param acsEndpoint string = ''

@minValue(0)
@maxValue(3600)
@description('Seconds events for one workspace are coalesced into one evaluation.')
param coalesceSeconds int = 30

@minValue(1)
@description('Hours before an open finding is alerted again.')
param renotifyHours int = 24

@description('NCRONTAB schedule (six fields) of the periodic sweep.')
param sweepSchedule string = '0 0 3 * * *'

@allowed([
  'required'
  'auto'
])
@description('Whether recreating a stale batch endpoint waits for approval.')
param recreationApproval string = 'required'

@description('Tag that exempts a workspace, tag-name=value.')
param exemptTag string = 'network-isolation=exempt'

@description('Run the app with virtual network integration and reach its storage and Key Vault through private endpoints.')
param vnetEnabled bool = false

@description('Create the Event Grid subscriptions. Needs the function deployed first; the postdeploy hook sets it.')
param deployEventSubscriptions bool = false

@description('Name of the Event Grid trigger function in the deployed code.')
param eventFunctionName string = 'resource_events'

@minValue(1)
@maxValue(30)
param maxDeliveryAttempts int = 10

@minValue(1)
@maxValue(1440)
param eventTimeToLiveInMinutes int = 1440

var tags = {
  'azd-env-name': environmentName
}
var scopeSubscriptionIds = empty(targetSubscriptionIds) ? [subscription().subscriptionId] : targetSubscriptionIds
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var eventResourceGroupName = 'rg-${environmentName}-events'

var deploymentContainerName = 'deployment-packages'
var deadLetterContainerName = 'event-dead-letters'

// Names the state code uses by default (remediators/state), plus the two containers that only
// the platform writes.
var queueNames = [
  'evaluation-requests'
  'evaluation-requests-poison'
  'recreation-requests'
  'recreation-requests-poison'
]
var tableNames = [
  'audit'
  'coalesce'
  'evaluationstatus'
  'findings'
  'networkhistory'
  'watermarks'
]
var containerNames = [
  deploymentContainerName
  deadLetterContainerName
  'snapshots'
  'locks'
]

resource appResourceGroup 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module identity 'app/identity.bicep' = {
  name: 'identity'
  scope: appResourceGroup
  params: {
    name: 'id-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: appResourceGroup
  params: {
    logAnalyticsName: 'log-${resourceToken}'
    applicationInsightsName: 'appi-${resourceToken}'
    location: location
    tags: tags
    principalId: identity.outputs.principalId
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: appResourceGroup
  params: {
    storageAccountName: 'st${resourceToken}'
    location: location
    tags: tags
    principalId: identity.outputs.principalId
    vnetEnabled: vnetEnabled
    queueNames: queueNames
    tableNames: tableNames
    containerNames: containerNames
  }
}

module keyVault 'app/keyvault.bicep' = {
  name: 'key-vault'
  scope: appResourceGroup
  params: {
    keyVaultName: 'kv-${resourceToken}'
    location: location
    tags: tags
    principalId: identity.outputs.principalId
    vnetEnabled: vnetEnabled
    teamsWebhookUrl: teamsWebhookUrl
  }
}

module network 'app/network.bicep' = if (vnetEnabled) {
  name: 'network'
  scope: appResourceGroup
  params: {
    vnetName: 'vnet-${resourceToken}'
    location: location
    tags: tags
  }
}

module privateEndpoints 'app/private-endpoints.bicep' = if (vnetEnabled) {
  name: 'private-endpoints'
  scope: appResourceGroup
  params: {
    namePrefix: 'pe-${resourceToken}'
    location: location
    tags: tags
    vnetId: network.outputs.vnetId
    privateEndpointSubnetId: network.outputs.privateEndpointSubnetId
    storageAccountId: storage.outputs.storageAccountId
    keyVaultId: keyVault.outputs.keyVaultId
  }
}

module communication 'app/communication.bicep' = if (deployCommunicationServices) {
  name: 'communication'
  scope: appResourceGroup
  params: {
    communicationServiceName: 'acs-${resourceToken}'
    emailServiceName: 'ecs-${resourceToken}'
    tags: tags
    principalId: identity.outputs.principalId
  }
}

// Email alerts need sender, recipients and endpoint together, so all three stay empty unless
// recipients are given.
var emailEnabled = !empty(emailRecipients)
var resolvedAcsEndpoint = !empty(acsEndpoint) ? acsEndpoint : (deployCommunicationServices ? communication.outputs.endpoint : '')
var resolvedEmailSender = !empty(emailSender) ? emailSender : (deployCommunicationServices ? communication.outputs.senderAddress : '')

var remediatorSettings = {
  REMEDIATOR_SCOPE_SUBSCRIPTIONS: join(scopeSubscriptionIds, ',')
  REMEDIATOR_MODE: remediatorMode
  REMEDIATOR_RULE_MODES: remediatorRuleModes
  REMEDIATOR_DRY_RUN: string(remediatorDryRun)
  REMEDIATOR_PE_SUBNET_ID: privateEndpointSubnetId
  REMEDIATOR_DNS_ZONE_SCOPE: dnsZoneScope
  REMEDIATOR_CUSTOM_DNS: string(customDns)
  REMEDIATOR_CLOUD: environment().name
  TEAMS_WEBHOOK_URL: empty(teamsWebhookUrl) ? '' : '@Microsoft.KeyVault(SecretUri=${keyVault.outputs.teamsWebhookSecretUri})'
  EMAIL_SENDER: emailEnabled ? resolvedEmailSender : ''
  EMAIL_RECIPIENTS: emailRecipients
  ACS_ENDPOINT: emailEnabled ? resolvedAcsEndpoint : ''
  REMEDIATOR_COALESCE_SECONDS: string(coalesceSeconds)
  REMEDIATOR_RENOTIFY_HOURS: string(renotifyHours)
  REMEDIATOR_SWEEP_SCHEDULE: sweepSchedule
  REMEDIATOR_RECREATION_APPROVAL: recreationApproval
  REMEDIATOR_EXEMPT_TAG: exemptTag
}

module functionApp 'app/function-app.bicep' = {
  name: 'function-app'
  scope: appResourceGroup
  params: {
    functionAppName: 'func-${resourceToken}'
    planName: 'plan-${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.identityId
    identityClientId: identity.outputs.identityClientId
    storageAccountName: storage.outputs.storageAccountName
    blobEndpoint: storage.outputs.blobEndpoint
    queueEndpoint: storage.outputs.queueEndpoint
    tableEndpoint: storage.outputs.tableEndpoint
    deploymentContainerName: deploymentContainerName
    applicationInsightsConnectionString: monitoring.outputs.applicationInsightsConnectionString
    appSettings: remediatorSettings
    appSubnetId: vnetEnabled ? network.outputs.appSubnetId : ''
  }
  dependsOn: [
    // The app resolves its Key Vault reference and opens storage through the private
    // endpoints when they exist, so it starts only after them.
    privateEndpoints
  ]
}

module roles 'app/roles.bicep' = {
  name: '${environmentName}-roles'
  params: {
    environmentName: environmentName
    targetSubscriptionIds: scopeSubscriptionIds
  }
}

module targetSubscriptions 'app/target-subscription.bicep' = [
  for (subscriptionId, i) in scopeSubscriptionIds: {
    name: '${environmentName}-target-${i}'
    scope: subscription(subscriptionId)
    params: {
      environmentName: environmentName
      location: location
      tags: tags
      principalId: identity.outputs.principalId
      roleDefinitionNames: roles.outputs.roleDefinitionNames
      eventResourceGroupName: eventResourceGroupName
    }
  }
]

module deadLetterAccess 'app/storage-container-access.bicep' = [
  for (subscriptionId, i) in scopeSubscriptionIds: {
    name: 'dead-letter-access-${subscriptionId}'
    scope: appResourceGroup
    params: {
      storageAccountName: storage.outputs.storageAccountName
      containerName: deadLetterContainerName
      principalId: targetSubscriptions[i].outputs.systemTopicPrincipalId
    }
  }
]

module eventSubscriptions 'app/event-subscriptions.bicep' = [
  for (subscriptionId, i) in scopeSubscriptionIds: if(deployEventSubscriptions) {
    name: 'event-subscriptions-${subscriptionId}'
    scope: resourceGroup(subscriptionId, eventResourceGroupName)
    params: {
      systemTopicName: targetSubscriptions[i].outputs.systemTopicName
      functionAppId: functionApp.outputs.functionAppId
      eventFunctionName: eventFunctionName
      storageAccountId: storage.outputs.storageAccountId
      deadLetterContainerName: deadLetterContainerName
      maxDeliveryAttempts: maxDeliveryAttempts
      eventTimeToLiveInMinutes: eventTimeToLiveInMinutes
    }
    dependsOn: [
      deadLetterAccess
    ]
  }
]

// azd stores these in the environment; the postdeploy hook reads them.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = appResourceGroup.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.functionAppName
output AZURE_FUNCTION_APP_ID string = functionApp.outputs.functionAppId
output AZURE_STORAGE_ACCOUNT_ID string = storage.outputs.storageAccountId
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.keyVaultName
output EVENT_FUNCTION_NAME string = eventFunctionName
output EVENT_RESOURCE_GROUP string = eventResourceGroupName
output EVENT_DEAD_LETTER_CONTAINER string = deadLetterContainerName
output EVENT_MAX_DELIVERY_ATTEMPTS int = maxDeliveryAttempts
output EVENT_TIME_TO_LIVE_MINUTES int = eventTimeToLiveInMinutes
output EVENT_SYSTEM_TOPICS array = [
  for (subscriptionId, i) in scopeSubscriptionIds: {
    subscriptionId: subscriptionId
    systemTopicName: targetSubscriptions[i].outputs.systemTopicName
  }
]
