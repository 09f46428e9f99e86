-- Shared by every benchmark script (the runner puts it in front of the endpoint's script).
-- Settings come from the environment: BENCH_TOKEN (a bearer token, or empty for none).

local token = os.getenv("BENCH_TOKEN") or ""
if token ~= "" then
   wrk.headers["Authorization"] = "Bearer " .. token
end

-- One line the runner parses. wrk counts statuses above 399 in errors.status; in-flight requests
-- at the end of the run are not counted anywhere, so a stalled service shows as few requests.
function done(summary, latency, requests)
   local errors = summary.errors
   io.write(string.format(
      'BENCH_RESULT {"requests": %d, "duration_us": %d, "non_2xx": %d, "connect_errors": %d, '
         .. '"read_errors": %d, "write_errors": %d, "timeouts": %d, '
         .. '"p50_us": %.0f, "p90_us": %.0f, "p99_us": %.0f, "max_us": %.0f}\n',
      summary.requests, summary.duration, errors.status, errors.connect,
      errors.read, errors.write, errors.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
