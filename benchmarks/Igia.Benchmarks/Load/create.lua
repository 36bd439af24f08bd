-- wrk script: POST an Observation (JSON template, "__PATIENT__" replaced by a random seeded patient id).
--   wrk ... -s create.lua http://127.0.0.1:PORT -- <path> <template-file> <patients>
-- Prints one WRKJSON line with requests, errors and latency percentiles (microseconds) when done.
local path = ""
local head, tail = "", ""
local patients = 1

local function seed()
  local addr = tostring({}):match("0x(%x+)") or "0"
  math.randomseed(os.time() + (tonumber(addr:sub(-6), 16) or 0))
end

function init(args)
  path = args[1]
  local f = assert(io.open(args[2], "rb"))
  local template = f:read("*a")
  f:close()
  head, tail = template:match("^(.-)__PATIENT__(.*)$")
  patients = tonumber(args[3])
  seed()
end

function request()
  local headers = { ["Accept"] = "application/fhir+json", ["Content-Type"] = "application/fhir+json" }
  return wrk.format("POST", path, headers, head .. "p" .. math.random(patients) .. tail)
end

function done(summary, latency, requests)
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,"status_errors":%d,"timeouts":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.status, summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
