#!/usr/bin/env bash
# The DCR declares a stream and column tables.json does not have, written by hand into the
# Bicep: the Logs Ingestion API would take rows no table of tables.json describes.
set -euo pipefail
module="$1/deploy/azure/modules/log-analytics.bicep"
sed -i "s|^    streamDeclarations: {$|    streamDeclarations: {\n      'Custom-BackupDoctorHosts': {\n        columns: [\n          {\n            name: 'HostName'\n            type: 'string'\n          }\n        ]\n      }|" "$module"
grep -q "'Custom-BackupDoctorHosts'" "$module"
