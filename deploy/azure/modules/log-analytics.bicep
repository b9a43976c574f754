// The Log Analytics side in the workspace's resource group: the two custom tables, the data collection endpoint and rule the Logs Ingestion API posts to, the
// identity's right to post, the workbook and the "became not ready" alert.
param location string
param namePrefix string
@description('The workspace (in this resource group) the tables are created in.')
param workspaceName string
param publisherPrincipalId string
param alertActionGroupIds array

// tables.json is the one source of the columns: the exporter compiles it in, and the tables and
// the DCR's stream declarations below are built from it, never written out here.
var tables = loadJsonContent('../log-analytics/tables.json').tables
var workspaceDestination = 'workspace'
// Monitoring Metrics Publisher: the role the Logs Ingestion API checks on the DCR.
var metricsPublisherRoleId = '3913510d-42f4-4e42-8a64-420c390055eb'

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' existing = {
  name: workspaceName
}

resource customTables 'Microsoft.OperationalInsights/workspaces/tables@2022-10-01' = [
  for t in tables: {
    parent: workspace
    name: t.table
    properties: {
      plan: 'Analytics'
      // Tables spell the type dateTime; stream declarations and tables.json spell it datetime.
      schema: {
        name: t.table
        description: t.description
        columns: [for c in t.columns: {
          name: c.name
          type: c.type == 'datetime' ? 'dateTime' : c.type
          description: c.description
        }]
      }
    }
  }
]

resource endpoint 'Microsoft.Insights/dataCollectionEndpoints@2023-03-11' = {
  name: '${namePrefix}-dce'
  location: location
  properties: {
    networkAcls: {
      publicNetworkAccess: 'Enabled'
    }
  }
}

resource rule 'Microsoft.Insights/dataCollectionRules@2023-03-11' = {
  name: '${namePrefix}-dcr'
  location: location
  properties: {
    dataCollectionEndpointId: endpoint.id
    // One entry per table of tables.json (Bicep builds no object keys in a loop without lambdas,
    // which checkov's parser rejects); check-azure.sh fails when a table has no entry here.
    streamDeclarations: {
      '${tables[0].stream}': {
        columns: [for c in tables[0].columns: {
          name: c.name
          type: c.type
        }]
      }
      '${tables[1].stream}': {
        columns: [for c in tables[1].columns: {
          name: c.name
          type: c.type
        }]
      }
    }
    destinations: {
      logAnalytics: [
        {
          name: workspaceDestination
          workspaceResourceId: workspace.id
        }
      ]
    }
    dataFlows: [for t in tables: {
      streams: [
        t.stream
      ]
      destinations: [
        workspaceDestination
      ]
      transformKql: 'source'
      outputStream: 'Custom-${t.table}'
    }]
  }
  dependsOn: [
    customTables
  ]
}

resource publisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(rule.id, publisherPrincipalId, metricsPublisherRoleId)
  scope: rule
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', metricsPublisherRoleId)
    principalId: publisherPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(resourceGroup().id, 'backup-doctor workbook')
  location: location
  kind: 'shared'
  properties: {
    displayName: 'backup-doctor: VM backup readiness'
    category: 'workbook'
    sourceId: workspace.id
    serializedData: string(union(loadJsonContent('../log-analytics/workbook.json'), { fallbackResourceIds: [workspace.id] }))
  }
  dependsOn: [
    customTables
  ]
}

resource becameNotReady 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${namePrefix}-vm-became-not-ready'
  location: location
  kind: 'LogAlert'
  properties: {
    displayName: 'backup-doctor: a VM became not ready for backup'
    description: 'A VM whose verdict was pass in its previous scan is fail or unknown in its latest one.'
    severity: 2
    enabled: true
    scopes: [
      workspace.id
    ]
    // Hourly, over two days: a nightly scan's previous scan is in the window, and the query keeps
    // only scans ingested in the last hour, so each change alerts once.
    evaluationFrequency: 'PT1H'
    windowSize: 'P2D'
    autoMitigate: false
    criteria: {
      allOf: [
        {
          query: loadTextContent('../log-analytics/alert-became-not-ready.kql')
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          dimensions: [
            {
              name: 'VmId'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: alertActionGroupIds
    }
  }
  dependsOn: [
    customTables
  ]
}

output workspaceId string = workspace.id
output logsIngestionEndpoint string = endpoint.properties.logsIngestion.endpoint
output dcrImmutableId string = rule.properties.immutableId
