// Optional Azure Communication Services email: an email service with an Azure-managed domain,
// linked to a Communication Services resource the app sends through with its identity.

param communicationServiceName string
param emailServiceName string
param tags object = {}

@description('Principal id of the function app identity, granted the email sender role below.')
param principalId string

@description('Where Communication Services stores data at rest.')
param dataLocation string = 'United States'

// Sending mail with an Entra ID token needs these three actions; the built-in roles that
// include them also manage the resource, so a custom role scoped to this resource group
// grants only these.
var emailSenderActions = [
  'Microsoft.Communication/CommunicationServices/Read'
  'Microsoft.Communication/CommunicationServices/Write'
  'Microsoft.Communication/EmailServices/write'
]

resource emailService 'Microsoft.Communication/emailServices@2023-04-01' = {
  name: emailServiceName
  location: 'global'
  tags: tags
  properties: {
    dataLocation: dataLocation
  }
}

resource managedDomain 'Microsoft.Communication/emailServices/domains@2023-04-01' = {
  parent: emailService
  name: 'AzureManagedDomain'
  location: 'global'
  tags: tags
  properties: {
    domainManagement: 'AzureManaged'
    userEngagementTracking: 'Disabled'
  }
}

resource communicationService 'Microsoft.Communication/communicationServices@2023-04-01' = {
  name: communicationServiceName
  location: 'global'
  tags: tags
  properties: {
    dataLocation: dataLocation
    linkedDomains: [
      managedDomain.id
    ]
  }
}

resource emailSenderRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(resourceGroup().id, 'remediator-email-sender')
  properties: {
    roleName: 'Batch endpoint remediator email sender (${resourceGroup().name})'
    description: 'Sends email through Azure Communication Services with an Entra ID token.'
    type: 'CustomRole'
    permissions: [
      {
        actions: emailSenderActions
        notActions: []
      }
    ]
    assignableScopes: [
      resourceGroup().id
    ]
  }
}

resource emailSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(communicationService.id, principalId, emailSenderRole.id)
  scope: communicationService
  properties: {
    roleDefinitionId: emailSenderRole.id
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

output endpoint string = 'https://${communicationService.properties.hostName}'
output senderAddress string = 'DoNotReply@${managedDomain.properties.mailFromSenderDomain}'
