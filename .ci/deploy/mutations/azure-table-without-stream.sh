#!/usr/bin/env bash
# tables.json gains a table the DCR declares no stream for (the other direction of a mismatch).
set -euo pipefail
tables="$1/deploy/azure/log-analytics/tables.json"
python3 - "$tables" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1], encoding="utf-8"))
doc["tables"].append({"table": "BackupDoctorScans_CL", "stream": "Custom-BackupDoctorScans", "description": "one row per scan",
                      "columns": [{"name": "TimeGenerated", "type": "datetime", "description": "scan time"}]})
json.dump(doc, open(sys.argv[1], "w", encoding="utf-8"), indent=2)
PY
