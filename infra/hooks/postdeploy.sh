#!/bin/sh
# Create the Event Grid subscriptions once the Event Grid function exists.
#
# Event Grid validates an AzureFunction destination when the subscription is created, and the
# function exists only after `azd deploy` has uploaded the code and the host has indexed it.
# So provisioning skips the subscriptions (deployEventSubscriptions=false) and this hook, run
# by azd after deploy with the azd environment's values, creates them with the same module.
# It then sets DEPLOY_EVENT_SUBSCRIPTIONS=true so later `azd provision` runs keep them.
set -eu

: "${AZURE_RESOURCE_GROUP:?run through azd: AZURE_RESOURCE_GROUP is missing}"
: "${AZURE_FUNCTION_APP_NAME:?run through azd: AZURE_FUNCTION_APP_NAME is missing}"
: "${AZURE_FUNCTION_APP_ID:?run through azd: AZURE_FUNCTION_APP_ID is missing}"
: "${AZURE_STORAGE_ACCOUNT_ID:?run through azd: AZURE_STORAGE_ACCOUNT_ID is missing}"
: "${EVENT_FUNCTION_NAME:?run through azd: EVENT_FUNCTION_NAME is missing}"
: "${EVENT_RESOURCE_GROUP:?run through azd: EVENT_RESOURCE_GROUP is missing}"
: "${EVENT_SYSTEM_TOPICS:?run through azd: EVENT_SYSTEM_TOPICS is missing}"

attempts=30
delay_seconds=10

i=1
until az functionapp function show \
  --resource-group "$AZURE_RESOURCE_GROUP" \
  --name "$AZURE_FUNCTION_APP_NAME" \
  --function-name "$EVENT_FUNCTION_NAME" \
  --output none 2>/dev/null; do
  if [ "$i" -ge "$attempts" ]; then
    echo "Function $EVENT_FUNCTION_NAME not found in $AZURE_FUNCTION_APP_NAME after $attempts tries." >&2
    echo "Check the deployment logs, then run this hook again: azd hooks run postdeploy" >&2
    exit 1
  fi
  echo "Waiting for the host to index $EVENT_FUNCTION_NAME ($i/$attempts)"
  i=$((i + 1))
  sleep "$delay_seconds"
done

# EVENT_SYSTEM_TOPICS is a JSON array of {subscriptionId, systemTopicName}.
echo "$EVENT_SYSTEM_TOPICS" | python3 -c '
import json, sys
for topic in json.load(sys.stdin):
    print(topic["subscriptionId"], topic["systemTopicName"])
' | while read -r subscription_id topic_name; do
  echo "Creating event subscriptions on $topic_name in subscription $subscription_id"
  az deployment group create \
    --subscription "$subscription_id" \
    --resource-group "$EVENT_RESOURCE_GROUP" \
    --name "event-subscriptions-$subscription_id" \
    --template-file infra/app/event-subscriptions.bicep \
    --parameters \
      systemTopicName="$topic_name" \
      functionAppId="$AZURE_FUNCTION_APP_ID" \
      eventFunctionName="$EVENT_FUNCTION_NAME" \
      storageAccountId="$AZURE_STORAGE_ACCOUNT_ID" \
      deadLetterContainerName="${EVENT_DEAD_LETTER_CONTAINER:-event-dead-letters}" \
      maxDeliveryAttempts="${EVENT_MAX_DELIVERY_ATTEMPTS:-10}" \
      eventTimeToLiveInMinutes="${EVENT_TIME_TO_LIVE_MINUTES:-1440}" \
    --output none
done

azd env set DEPLOY_EVENT_SUBSCRIPTIONS true
