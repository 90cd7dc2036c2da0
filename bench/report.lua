-- wrk script for every workload: rotates over request paths, can POST a fresh JSON body
-- per request, counts non-2xx answers, and prints one JSON line of results when done.
--
-- Environment: BENCH_PATHS (paths separated by "|", each optionally "METHOD /path" to mix
-- methods in one run), BENCH_METHOD (the method of paths without one: GET or POST),
-- BENCH_BODY (POST body; "%d" is replaced by a per-request number), BENCH_TOKEN (bearer),
-- BENCH_COOKIE (a Cookie header, e.g. a logged-in session).

local threads = {}

function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  non2xx = 0
  counter = 0
  paths = {}
  methods = {}
  method = os.getenv("BENCH_METHOD") or "GET"
  for entry in string.gmatch(os.getenv("BENCH_PATHS") or "/", "[^|]+") do
    local own, path = string.match(entry, "^(%u+) (.+)$")
    table.insert(paths, path or entry)
    table.insert(methods, own or method)
  end
  body = os.getenv("BENCH_BODY")
  local headers = {}
  local token = os.getenv("BENCH_TOKEN")
  if token and token ~= "" then
    headers["Authorization"] = "Bearer " .. token
  end
  local cookie = os.getenv("BENCH_COOKIE")
  if cookie and cookie ~= "" then
    headers["Cookie"] = cookie
  end
  if body then
    headers["Content-Type"] = "application/json"
  end
  -- GET requests never change: format them once.
  prepared = {}
  if not body then
    for i, path in ipairs(paths) do
      prepared[i] = wrk.format(methods[i], path, headers)
    end
  end
  request_headers = headers
end

function request()
  counter = counter + 1
  local i = (counter + thread_id * 7919) % #paths + 1
  if body then
    local unique = string.format("%d%06d", thread_id, counter)
    return wrk.format(methods[i], paths[i], request_headers, (string.gsub(body, "%%d", unique)))
  end
  return prepared[i]
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
end

function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do
    bad = bad + (thread:get("non2xx") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "non2xx": %d, "connect": %d, "read": %d,'
      .. ' "write": %d, "timeout": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d,'
      .. ' "mean_us": %.1f}\n',
    summary.requests, summary.duration, bad, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean
  ))
end
