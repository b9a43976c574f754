// The reader role defined once, in the first listed subscription, and assignable in all of them
// (a custom role's name is unique in the tenant, so one definition serves every subscription).
targetScope = 'subscription'

param roleName string
param subscriptionIds array

var role = loadJsonContent('../../backup-doctor-reader.json')

resource reader 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(tenant().tenantId, roleName)
  properties: {
    roleName: roleName
    description: role.Description
    type: 'CustomRole'
    permissions: [
      {
        actions: role.Actions
        notActions: role.NotActions
        dataActions: role.DataActions
        notDataActions: role.NotDataActions
      }
    ]
    assignableScopes: [for id in subscriptionIds: '/subscriptions/${id}']
  }
}

output roleDefinitionId string = reader.id
