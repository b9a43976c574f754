// The SQLite store's home when PostgreSQL is off: an Azure Files share, linked to the Container
// Apps environment so the job and serve mount the same file at the image's state directory.
param location string
param namePrefix string
param environmentName string
@description('Name of the environment storage the job and serve mount.')
param storageName string

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // Lower-case letters and digits, 3 to 24: the account name's rules.
  name: take('${toLower(replace(namePrefix, '-', ''))}${uniqueString(resourceGroup().id)}', 24)
  location: location
  kind: 'StorageV2'
  sku: {
    name: 'Standard_GZRS'
  }
  properties: {
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    // Container Apps mounts an SMB share with the account key; no other client uses it.
    allowSharedKeyAccess: true
  }
}

resource fileService 'Microsoft.Storage/storageAccounts/fileServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    shareDeleteRetentionPolicy: {
      enabled: true
      days: 14
    }
  }
}

resource share 'Microsoft.Storage/storageAccounts/fileServices/shares@2023-05-01' = {
  parent: fileService
  name: 'backup-doctor'
  properties: {
    shareQuota: 5
    enabledProtocols: 'SMB'
  }
}

resource environment 'Microsoft.App/managedEnvironments@2024-03-01' existing = {
  name: environmentName
}

resource environmentStorage 'Microsoft.App/managedEnvironments/storages@2024-03-01' = {
  parent: environment
  name: storageName
  properties: {
    azureFile: {
      accountName: storage.name
      accountKey: storage.listKeys().keys[0].value
      shareName: share.name
      accessMode: 'ReadWrite'
    }
  }
}
