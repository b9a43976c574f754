#!/usr/bin/env bash
# A workbook cut off halfway, as a bad copy-paste from the portal's Advanced Editor leaves it.
set -euo pipefail
wb="$1/deploy/azure/log-analytics/workbook.json"
head -c "$(( $(wc -c <"$wb") / 2 ))" "$wb" >"$wb.cut"
mv "$wb.cut" "$wb"
! python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$wb" 2>/dev/null
