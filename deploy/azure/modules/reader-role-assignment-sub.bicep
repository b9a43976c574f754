// One subscription's assignment of the reader role to the identity.
targetScope = 'subscription'

param roleDefinitionId string
param principalId string

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, roleDefinitionId, principalId)
  properties: {
    roleDefinitionId: roleDefinitionId
    principalId: principalId
    // A new identity may not have replicated to every Entra region yet; the type skips the lookup.
    principalType: 'ServicePrincipal'
  }
}
