// The one identity both the scan job and serve run as: it reads ARM (the custom reader role),
// sends rows to the DCR (Monitoring Metrics Publisher) and, with PostgreSQL, signs in to the store.
param location string
param name string

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
}

output id string = identity.id
output name string = identity.name
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
