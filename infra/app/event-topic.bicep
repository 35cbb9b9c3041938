// The Event Grid system topic for one Azure subscription's resource events, with a
// system-assigned identity that writes dead-lettered events to the product's storage.
//
// NOTE: Azure allows one system topic per source. If the subscription already has a
// Microsoft.Resources.Subscriptions system topic, this create fails; add the event
// subscriptions to that topic instead.

param environmentName string
param tags object = {}

resource systemTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: 'evgt-${environmentName}-${subscription().subscriptionId}'
  location: 'global'
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: subscription().id
    topicType: 'Microsoft.Resources.Subscriptions'
  }
}

output systemTopicName string = systemTopic.name
output systemTopicPrincipalId string = systemTopic.identity.principalId
