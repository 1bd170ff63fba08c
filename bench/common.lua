-- Shared by the wrk scripts (loaded with dofile from the repository root, as bench/run.sh runs them):
-- numbers the threads, and reports one RESULT line with the rate, latencies and the count of good answers, which
-- each script keeps in the global `ok` of every thread.
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("ok")
  end
  io.write(string.format("RESULT requests_per_s=%.0f p50_ms=%.2f p99_ms=%.2f acked=%d errors=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000, total,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout))
end

-- seed_lines(PATH): a function that returns the file's next line each call, going round at its end, and that reads
-- the file as the requests need it. Each thread starts at its own point in the file (the thread after the first at
-- 0.618 of it, the next at 0.236, ...), so that the threads send different waybills at the same time.
-- Why not read it all in init: wrk runs each thread's init on its main thread before it starts that thread, and
-- times the load from when the last one has started. Reading 500,000 waybills into tables took seconds (the second
-- thread started 3.5 s after the first), during which the first loaded alone and counted in a rate divided by the
-- measured time only; and the tables' million strings made each request dearer for wrk (bench/RESULTS.md,
-- nineteenth session).
function seed_lines(path)
  local file = assert(io.open(path, "rb"))
  local size = file:seek("end")
  local start = math.floor(size * ((id * 0.6180339887) % 1))
  file:seek("set", start)
  if start > 0 then
    file:read("*l")
  end
  return function()
    for _ = 1, 2 do
      local line = file:read("*l")
      while line == "" do
        line = file:read("*l")
      end
      if line then
        return line
      end
      file:seek("set", 0)
    end
    error("no lines in " .. path)
  end
end

