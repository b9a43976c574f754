// The Container Apps side: the environment (logs to the workspace), the nightly scan job and the
// `serve` app, both as the user-assigned identity, and, without PostgreSQL, the Azure Files share
// that holds the SQLite store (sqlite-share.bicep).
param location string
param namePrefix string
param identityId string
param identityClientId string
param identityName string
param image string
param registryServer string
param scanCron string
param scanSubscriptions array
param scanManagementGroups array
param workspaceId string
param logsIngestionEndpoint string
param dcrImmutableId string
@description('Host name of the PostgreSQL server; the SQLite store on Azure Files when empty.')
param postgresHost string
param postgresDatabase string
param apiAudiences array
param externalIngress bool

var usePostgres = !empty(postgresHost)
// The image's state directory (deploy/Dockerfile): the SQLite store lives on the share mounted here.
var stateDir = '/var/lib/backup-doctor'
var sqliteStore = '${stateDir}/backup-doctor.sqlite'
var stateVolume = 'state'
var configVolume = 'config'
var registries = empty(registryServer) ? [] : [
  {
    server: registryServer
    identity: identityId
  }
]
var subscriptionArgs = [for s in scanSubscriptions: ['--subscription', s]]
var managementGroupArgs = [for g in scanManagementGroups: ['--management-group', g]]
var scopeArgs = concat(flatten(subscriptionArgs), flatten(managementGroupArgs))
// `--fail-on never`: failing VMs are the scan's result, not a failed job execution (exit 1 would
// mark it failed). An incomplete scan still exits 3 and shows as failed, on purpose. The console
// summary goes to the job's log; the report itself to the store and Log Analytics.
var scanArgs = concat(['scan', '--live', '--auth', 'managed-identity', '--fail-on', 'never'], scopeArgs, ['--export', 'log-analytics', '--log-analytics-endpoint', logsIngestionEndpoint, '--log-analytics-dcr', dcrImmutableId], usePostgres ? [] : ['--store', sqliteStore])
var postgresCommand = [
  '/bin/sh'
  '-c'
  loadTextContent('../scripts/with-postgres-token.sh')
  'with-postgres-token'
]
var identityEnv = [
  {
    name: 'AZURE_CLIENT_ID'
    value: identityClientId
  }
]
var postgresEnv = usePostgres ? [
  {
    name: 'PG_HOST'
    value: postgresHost
  }
  {
    name: 'PG_DATABASE'
    value: postgresDatabase
  }
  {
    // The Entra administrator's principal name, which is the identity's name.
    name: 'PG_USER'
    value: identityName
  }
] : []
// serve's settings as BACKUP_DOCTOR_… variables (docs/serve.md#configuration). No [schedule]:
// the job scans; serve answers the API and runs the scans POST /v1/scans asks for.
var serveEnv = concat([
  {
    name: 'BACKUP_DOCTOR_LISTEN'
    value: '0.0.0.0:8080'
  }
  {
    name: 'BACKUP_DOCTOR_LOG_FORMAT'
    value: 'json'
  }
  {
    name: 'BACKUP_DOCTOR_AUTH_TENANT_ID'
    value: tenant().tenantId
  }
  {
    name: 'BACKUP_DOCTOR_AUTH_AUDIENCE'
    value: join(apiAudiences, ',')
  }
  {
    name: 'BACKUP_DOCTOR_LIVE_AUTH'
    value: 'managed-identity'
  }
  // Scans POST /v1/scans starts go to Log Analytics too ([export.log_analytics] in serve.toml).
  {
    name: 'BACKUP_DOCTOR_EXPORT_LOG_ANALYTICS_ENDPOINT'
    value: logsIngestionEndpoint
  }
  {
    name: 'BACKUP_DOCTOR_EXPORT_LOG_ANALYTICS_DCR'
    value: dcrImmutableId
  }
], empty(scanSubscriptions) ? [] : [
  {
    name: 'BACKUP_DOCTOR_LIVE_SUBSCRIPTIONS'
    value: join(scanSubscriptions, ',')
  }
], empty(scanManagementGroups) ? [] : [
  {
    name: 'BACKUP_DOCTOR_LIVE_MANAGEMENT_GROUPS'
    value: join(scanManagementGroups, ',')
  }
], usePostgres ? [] : [
  {
    name: 'BACKUP_DOCTOR_STORE'
    value: sqliteStore
  }
])
var stateMounts = usePostgres ? [] : [
  {
    volumeName: stateVolume
    mountPath: stateDir
  }
]
// The share is owned by root unless mounted for the image's user (10001, deploy/Dockerfile).
var stateVolumes = usePostgres ? [] : [
  {
    name: stateVolume
    storageType: 'AzureFile'
    storageName: stateVolume
    mountOptions: 'uid=10001,gid=10001,dir_mode=0750,file_mode=0640'
  }
]

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' existing = {
  name: last(split(workspaceId, '/'))
  scope: resourceGroup(split(workspaceId, '/')[2], split(workspaceId, '/')[4])
}

resource environment 'Microsoft.App/managedEnvironments@2024-03-01' = {
  name: '${namePrefix}-env'
  location: location
  properties: {
    appLogsConfiguration: {
      destination: 'log-analytics'
      logAnalyticsConfiguration: {
        customerId: workspace.properties.customerId
        sharedKey: workspace.listKeys().primarySharedKey
      }
    }
  }
}

module sqliteShare 'sqlite-share.bicep' = if (!usePostgres) {
  name: 'backup-doctor-sqlite-share'
  params: {
    location: location
    namePrefix: namePrefix
    environmentName: environment.name
    storageName: stateVolume
  }
}

resource scanJob 'Microsoft.App/jobs@2024-03-01' = {
  name: '${namePrefix}-scan'
  location: location
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    environmentId: environment.id
    configuration: {
      triggerType: 'Schedule'
      scheduleTriggerConfig: {
        cronExpression: scanCron
        parallelism: 1
        replicaCompletionCount: 1
      }
      // The live collection has its own deadline (30 min by default); the job gives it room.
      replicaTimeout: 3600
      // A failed scan is not run again at once: the next night's run is the retry.
      replicaRetryLimit: 0
      registries: registries
    }
    template: {
      containers: [
        {
          name: 'scan'
          image: image
          command: usePostgres ? postgresCommand : null
          args: scanArgs
          env: concat(identityEnv, postgresEnv)
          // Sized from docs/performance.md: 395 MB peak heap for 10,000 VMs.
          resources: {
            cpu: json('1.0')
            memory: '2Gi'
          }
          volumeMounts: stateMounts
        }
      ]
      volumes: stateVolumes
    }
  }
  dependsOn: [
    sqliteShare
  ]
}

resource serve 'Microsoft.App/containerApps@2024-03-01' = {
  name: '${namePrefix}-serve'
  location: location
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    environmentId: environment.id
    configuration: {
      activeRevisionsMode: 'Single'
      ingress: {
        external: externalIngress
        targetPort: 8080
        transport: 'http'
        allowInsecure: false
      }
      registries: registries
      secrets: [
        {
          name: 'serve-toml'
          // Every setting comes from the BACKUP_DOCTOR_… variables; the file is there because
          // serve requires --config, and is where extra settings go.
          value: '# backup-doctor serve: settings are set as BACKUP_DOCTOR_ variables on the Container App (deploy/azure/modules/container-apps.bicep).\n'
        }
      ]
    }
    template: {
      containers: [
        {
          name: 'serve'
          image: image
          command: usePostgres ? postgresCommand : null
          args: [
            'serve'
            '--config'
            '/etc/backup-doctor/serve.toml'
          ]
          env: concat(identityEnv, postgresEnv, serveEnv)
          resources: {
            cpu: json('0.5')
            memory: '1Gi'
          }
          probes: [
            {
              type: 'Startup'
              httpGet: {
                path: '/healthz'
                port: 8080
              }
              periodSeconds: 5
              failureThreshold: 24
            }
            {
              type: 'Liveness'
              httpGet: {
                path: '/healthz'
                port: 8080
              }
              periodSeconds: 30
              failureThreshold: 3
            }
            {
              // 503 while the store does not answer: no traffic until it does.
              type: 'Readiness'
              httpGet: {
                path: '/readyz'
                port: 8080
              }
              periodSeconds: 15
              failureThreshold: 2
            }
          ]
          volumeMounts: concat(stateMounts, [
            {
              volumeName: configVolume
              mountPath: '/etc/backup-doctor'
            }
          ])
        }
      ]
      volumes: concat(stateVolumes, [
        {
          name: configVolume
          storageType: 'Secret'
          secrets: [
            {
              secretRef: 'serve-toml'
              path: 'serve.toml'
            }
          ]
        }
      ])
      // One replica: with the SQLite store on a file share, fewest writers is the safe shape;
      // with PostgreSQL it can be raised (replicas share the store's lease for their scans).
      scale: {
        minReplicas: 1
        maxReplicas: 1
      }
    }
  }
  dependsOn: [
    sqliteShare
  ]
}

output serveUrl string = 'https://${serve.properties.configuration.ingress.fqdn}'
output jobName string = scanJob.name
