-- wrk script for benchmarks/bench_serve.py: POST one pre-built form body per request (client
-- assertions are single-use, so no body is sent twice), stop after a fixed count of replies,
-- and count as an error any reply that is not 200 (or, for /introspect, not active).
--
-- Environment: BENCH_BODIES (one urlencoded body per line), BENCH_COUNT (replies to wait
-- for), BENCH_PATH, BENCH_TOKENS (optional: file that gets each reply's access_token),
-- BENCH_AUTHORIZATION (optional: an Authorization header sent with every request),
-- BENCH_METHOD (optional: GET sends no body, for the floor phase; default POST).
-- One wrk thread is assumed (-t 1): the counters live in that thread's Lua state.

-- wrk's main thread sleeps for the whole -d duration: the script keeps its own clock from the
-- first request to the counted last reply, and ends wrk (SIGINT, as Ctrl-C) at the count.
local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock, bench_timespec *tp);
int kill(int pid, int sig);
int getpid(void);
]])
local function now_us()
  local ts = ffi.new("bench_timespec")
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000000 + tonumber(ts.tv_nsec) / 1000
end
started_us, finished_us = 0, 0

local bodies = {}
local next_body = 1
local count = tonumber(os.getenv("BENCH_COUNT"))
local path = os.getenv("BENCH_PATH")
local method = os.getenv("BENCH_METHOD")
if method == nil or method == "" then
  method = "POST"
end
local introspect = path == "/introspect"
local tokens_out = nil
ok, bad, replies = 0, 0, 0
first_error = ""

function init(args)
  for line in io.lines(os.getenv("BENCH_BODIES")) do
    bodies[#bodies + 1] = line
  end
  local tokens_path = os.getenv("BENCH_TOKENS")
  if tokens_path and tokens_path ~= "" then
    tokens_out = io.open(tokens_path, "w")
  end
  wrk.method = method
  wrk.path = path
  if method == "POST" then
    wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  end
  local authorization = os.getenv("BENCH_AUTHORIZATION")
  if authorization and authorization ~= "" then
    wrk.headers["Authorization"] = authorization
  end
end

function request()
  if started_us == 0 then
    started_us = now_us()
  end
  -- Past the end (requests in flight when the count is reached) the last body is sent again;
  -- those replies come after the stop and are not counted.
  if method == "GET" then
    return wrk.format(nil, nil, nil, nil)
  end
  local body = bodies[math.min(next_body, #bodies)]
  next_body = next_body + 1
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  if replies >= count then
    return
  end
  replies = replies + 1
  local good = status == 200
  if good and introspect then
    good = string.find(body, '"active":true', 1, true) ~= nil
  end
  if good then
    ok = ok + 1
    if tokens_out then
      local token = string.match(body, '"access_token":"([^"]+)"')
      if token then
        tokens_out:write(token, "\n")
      end
    end
  else
    bad = bad + 1
    if first_error == "" then
      first_error = (status .. " " .. string.sub(body, 1, 200)):gsub("[%c]", " ")
    end
  end
  if replies >= count then
    if tokens_out then
      tokens_out:close()
    end
    finished_us = now_us()
    wrk.thread:stop()
    ffi.C.kill(ffi.C.getpid(), 2)
  end
end

local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

function done(summary, latency, requests)
  local t = threads[1]
  local finished = t:get("finished_us")
  if finished == 0 then
    finished = now_us() -- the count was not reached within the duration
  end
  -- One JSON line for bench_serve.py (latencies in microseconds).
  io.write(string.format(
    'BENCH {"ok":%d,"bad":%d,"duration_us":%d,"p50":%d,"p75":%d,"p90":%d,"p95":%d,' ..
      '"p99":%d,"max":%d,"socket_errors":%d,"first_error":%q}\n',
    t:get("ok"), t:get("bad"), math.floor(finished - t:get("started_us")),
    latency:percentile(50), latency:percentile(75), latency:percentile(90),
    latency:percentile(95), latency:percentile(99), latency.max,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    t:get("first_error")))
end
