-- wrk script: GET a random path from a list file, prefixed (e.g. /fhir/ or /bare/).
--   wrk ... -s paths.lua http://127.0.0.1:PORT -- <prefix> <paths-file>
-- Prints one WRKJSON line with requests, errors and latency percentiles (microseconds) when done.
local paths = {}
local prefix = ""
local headers = { ["Accept"] = "application/fhir+json" }

local function seed()
  local addr = tostring({}):match("0x(%x+)") or "0"
  math.randomseed(os.time() + (tonumber(addr:sub(-6), 16) or 0))
end

function init(args)
  prefix = args[1]
  for line in io.lines(args[2]) do
    if #line > 0 then paths[#paths + 1] = line end
  end
  seed()
end

function request()
  return wrk.format("GET", prefix .. paths[math.random(#paths)], headers)
end

function done(summary, latency, requests)
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,"status_errors":%d,"timeouts":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.status, summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
