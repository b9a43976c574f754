#!/usr/bin/env bash
# A workbook query names a column no table has (a rename in tables.json the workbook missed).
set -euo pipefail
wb="$1/deploy/azure/log-analytics/workbook.json"
sed -i 's/summarize Vms = count() by RootCause/summarize Vms = count() by PrimaryCause/' "$wb"
grep -q 'by PrimaryCause' "$wb"
