-- One endpoint of the soak's API load (.ci/soak.sh), for wrk. Each wrk process drives one
-- endpoint so the summary has each endpoint's own latency. Configured by the environment because
-- wrk runs done() in a Lua state that never sees the script's command-line arguments:
--   SOAK_METHOD (GET), SOAK_BODY (a request body), SOAK_DELAY_MS (pause between one connection's
--   requests: a steady rate that leaves the shared machine's cores to the scans), SOAK_OUT (where
--   done() writes its figures as one JSON object).
local method = os.getenv("SOAK_METHOD") or "GET"
local body = os.getenv("SOAK_BODY")
local pause = tonumber(os.getenv("SOAK_DELAY_MS") or "50")
local out = os.getenv("SOAK_OUT")

wrk.method = method
if body ~= nil and body ~= "" then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
end

function delay()
  return pause
end

function done(summary, latency, requests)
  local errors = summary.errors
  local line = string.format(
    '{"requests": %d, "duration_us": %d, "p50_ms": %.3f, "p90_ms": %.3f, "p99_ms": %.3f, ' ..
    '"max_ms": %.3f, "errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}\n',
    summary.requests, summary.duration,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout)
  if out ~= nil and out ~= "" then
    local file = assert(io.open(out, "w"))
    file:write(line)
    file:close()
  else
    io.write(line)
  end
end
