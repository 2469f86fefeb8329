-- wrk script: POST a pipe.hello run; count answers that are not a trace with outcome ok.
-- With IPCLAB_BENCH_KEY_PREFIX set, wrk thread N sends the API key PREFIX..N (X-API-Key): run one
-- thread per connection (-tN -cN) and each connection is a client of its own, as N graders would be
-- (the server's fair share caps what one client may run at once; all of wrk shares one address).
wrk.method = "POST"
wrk.body = os.getenv("IPCLAB_BENCH_BODY") or '{"experiment":"pipe.hello"}'
wrk.headers["Content-Type"] = "application/json"

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("client", #threads)
end

function init(args)
  bad = 0
  local prefix = os.getenv("IPCLAB_BENCH_KEY_PREFIX")
  if prefix and client then
    wrk.headers["X-API-Key"] = prefix .. client
  end
end

function response(status, headers, body)
  if status ~= 200 or not string.find(body, '"outcome":"ok"', 1, true) then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + (t:get("bad") or 0) end
  io.write(string.format("IPCLAB_BAD %d\n", total))
  io.write(string.format("IPCLAB_LAT p50=%d p99=%d max=%d count=%d\n",
    latency:percentile(50), latency:percentile(99), latency.max, summary.requests))
end
