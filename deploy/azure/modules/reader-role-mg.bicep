// The reader role defined at a management group (assignable there and below) and assigned there,
// so every subscription below it, now or later, is readable without another deployment.
targetScope = 'managementGroup'

param roleName string
param principalId string

// The actions live in deploy/backup-doctor-reader.json only, which tests/deploy_role.rs compares
// with the ARM requests the collector makes.
var role = loadJsonContent('../../backup-doctor-reader.json')

resource reader 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(managementGroup().id, roleName)
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
    assignableScopes: [
      managementGroup().id
    ]
  }
}

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(managementGroup().id, reader.id, principalId)
  properties: {
    roleDefinitionId: reader.id
    principalId: principalId
    // A new identity may not have replicated to every Entra region yet; the type skips the lookup.
    principalType: 'ServicePrincipal'
  }
}
