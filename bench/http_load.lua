-- wrk script for bench/http_load.sh.
-- Sends `Authorization: Bearer $BENCH_TOKEN` when that variable is set, and at the end prints
-- one machine-readable line so the driver does not have to parse wrk's human units
-- ("1.23ms", "45.67k"). It defines no per-request callbacks, which would slow wrk itself.

local token = os.getenv("BENCH_TOKEN")
if token ~= nil and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local errors = summary.errors
  io.write(string.format(
    "BENCH_RESULT requests=%d seconds=%.3f rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d"
      .. " non2xx=%d connect_errors=%d read_errors=%d write_errors=%d timeouts=%d\n",
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    errors.status, errors.connect, errors.read, errors.write, errors.timeout))
end
