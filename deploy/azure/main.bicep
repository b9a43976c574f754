// backup-doctor on Azure Container Apps: a nightly scan job and the `serve` app under one
// user-assigned managed identity, the reader role at a management group or subscriptions, the
// store (SQLite on Azure Files, or PostgreSQL with Entra authentication only) and the Log
// Analytics side (custom tables, DCE + DCR, workbook, alert). docs/deploy/azure.md walks through it.
//
// Deployed at a management group, because that is the one scope from which modules can reach
// a management group (the role at MG scope) as well as any subscription and resource group:
//   az deployment mg create --management-group-id MG --location REGION \
//     --template-file deploy/azure/main.bicep --parameters NAME=VALUE …
targetScope = 'managementGroup'

@description('Region of the workload resources (identity, Container Apps, Log Analytics, PostgreSQL).')
param location string

@description('Subscription that holds the workload resource group.')
param workloadSubscriptionId string

@description('Existing resource group for the workload resources (the deployer needs Contributor on it, and Owner or Role Based Access Control Administrator for the DCR role assignment).')
param resourceGroupName string

@description('Where the reader role is created and assigned: a management group (every subscription below it is scanned) or a list of subscriptions.')
@allowed([
  'managementGroup'
  'subscriptions'
])
param readerScope string

@description('Management group for the reader role when readerScope is managementGroup; the deployment\'s own management group when empty.')
param readerManagementGroupId string = ''

@description('Subscriptions for the reader role when readerScope is subscriptions; the role is defined in the first and assignable in all.')
param readerSubscriptionIds array = []

@description('Name of the custom role; must be unique in the tenant.')
param roleName string = loadJsonContent('../backup-doctor-reader.json').Name

@description('Container image, e.g. myregistry.azurecr.io/backup-doctor:0.1.0 (built from deploy/Dockerfile).')
param image string

@description('Resource id of the Azure Container Registry holding the image; the identity gets AcrPull on it and pulls with it. Empty for an image anyone can pull.')
param registryId string = ''

@description('Schedule of the scan job: five cron fields, evaluated in UTC by Container Apps.')
param scanCron string = '0 2 * * *'

@description('Keep the store in Azure Database for PostgreSQL (Entra authentication only) instead of SQLite on an Azure Files share.')
param usePostgres bool = false

@description('Resource id of an existing Log Analytics workspace (it must receive the Recovery Services vaults\' AddonAzureBackupJobs for the workbook\'s predictions view); a new workspace is created when empty.')
param existingWorkspaceId string = ''

@description('Application ID URI and/or client id of serve\'s app registration, the token audiences serve accepts (docs/serve-auth.md).')
param apiAudiences array

@description('Expose serve outside the Container Apps environment.')
param externalIngress bool = true

@description('Action groups the "VM became not ready for backup" alert notifies.')
param alertActionGroupIds array = []

@description('Prefix of the resource names: lower-case letters, digits and hyphens, starting with a letter (Container Apps\' naming rules).')
@minLength(3)
@maxLength(12)
param namePrefix string = 'bkdoctor'

var readerMg = empty(readerManagementGroupId) ? managementGroup().name : readerManagementGroupId
var workloadRg = resourceGroup(workloadSubscriptionId, resourceGroupName)
var workspaceRg = empty(existingWorkspaceId) ? workloadRg : resourceGroup(split(existingWorkspaceId, '/')[2], split(existingWorkspaceId, '/')[4])
var registryRg = empty(registryId) ? workloadRg : resourceGroup(split(registryId, '/')[2], split(registryId, '/')[4])
// The scan reads what the role grants: the management group's subscriptions, or the listed ones.
var scanSubscriptions = readerScope == 'subscriptions' ? readerSubscriptionIds : []
var scanManagementGroups = readerScope == 'managementGroup' ? [readerMg] : []

module identity 'modules/identity.bicep' = {
  name: 'backup-doctor-identity'
  scope: workloadRg
  params: {
    location: location
    name: '${namePrefix}-id'
  }
}

module readerAtMg 'modules/reader-role-mg.bicep' = if (readerScope == 'managementGroup') {
  name: 'backup-doctor-reader-mg'
  scope: managementGroup(readerMg)
  params: {
    roleName: roleName
    principalId: identity.outputs.principalId
  }
}

module readerDefinition 'modules/reader-role-definition-sub.bicep' = if (readerScope == 'subscriptions') {
  name: 'backup-doctor-reader-definition'
  scope: subscription(readerScope == 'subscriptions' ? readerSubscriptionIds[0] : workloadSubscriptionId)
  params: {
    roleName: roleName
    subscriptionIds: readerSubscriptionIds
  }
}

module readerAssignments 'modules/reader-role-assignment-sub.bicep' = [
  for sub in scanSubscriptions: {
    name: 'backup-doctor-reader-${sub}'
    scope: subscription(sub)
    params: {
      roleDefinitionId: readerDefinition.outputs.roleDefinitionId
      principalId: identity.outputs.principalId
    }
  }
]

module workspace 'modules/workspace.bicep' = if (empty(existingWorkspaceId)) {
  name: 'backup-doctor-workspace'
  scope: workloadRg
  params: {
    location: location
    name: '${namePrefix}-logs'
  }
}

module logs 'modules/log-analytics.bicep' = {
  name: 'backup-doctor-log-analytics'
  scope: workspaceRg
  params: {
    location: location
    namePrefix: namePrefix
    workspaceName: empty(existingWorkspaceId) ? '${namePrefix}-logs' : last(split(existingWorkspaceId, '/'))
    publisherPrincipalId: identity.outputs.principalId
    alertActionGroupIds: alertActionGroupIds
  }
  dependsOn: [
    workspace
  ]
}

module acrPull 'modules/acr-pull.bicep' = if (!empty(registryId)) {
  name: 'backup-doctor-acr-pull'
  scope: registryRg
  params: {
    registryName: last(split(registryId, '/'))
    principalId: identity.outputs.principalId
  }
}

module postgres 'modules/postgres.bicep' = if (usePostgres) {
  name: 'backup-doctor-postgres'
  scope: workloadRg
  params: {
    location: location
    name: '${namePrefix}-${uniqueString(workloadSubscriptionId, resourceGroupName)}-pg'
    adminPrincipalId: identity.outputs.principalId
    adminPrincipalName: identity.outputs.name
  }
}

module apps 'modules/container-apps.bicep' = {
  name: 'backup-doctor-container-apps'
  scope: workloadRg
  params: {
    location: location
    namePrefix: namePrefix
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    identityName: identity.outputs.name
    image: image
    registryServer: empty(registryId) ? '' : acrPull.outputs.loginServer
    scanCron: scanCron
    scanSubscriptions: scanSubscriptions
    scanManagementGroups: scanManagementGroups
    workspaceId: logs.outputs.workspaceId
    logsIngestionEndpoint: logs.outputs.logsIngestionEndpoint
    dcrImmutableId: logs.outputs.dcrImmutableId
    postgresHost: usePostgres ? postgres.outputs.fqdn : ''
    postgresDatabase: usePostgres ? postgres.outputs.database : ''
    apiAudiences: apiAudiences
    externalIngress: externalIngress
  }
}

output identityClientId string = identity.outputs.clientId
output identityPrincipalId string = identity.outputs.principalId
output serveUrl string = apps.outputs.serveUrl
output scanJobName string = apps.outputs.jobName
output logsIngestionEndpoint string = logs.outputs.logsIngestionEndpoint
output dcrImmutableId string = logs.outputs.dcrImmutableId
