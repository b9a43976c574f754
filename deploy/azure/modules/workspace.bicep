// A new Log Analytics workspace, when no existing one is given. Point the Recovery Services
// vaults' diagnostic settings (AddonAzureBackupJobs, resource specific) here too, so that the
// workbook can set backup-doctor's predictions against Azure Backup's own job results.
param location string
param name string
@description('Days the rows are kept; the trend view reads back this far at most.')
param retentionInDays int = 90

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: name
  location: location
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
  }
}

output id string = workspace.id
