-- wrk: getPath by the merchant on random seeded waybills (each with its seeded events).
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  bodies = {}
  for line in io.lines(os.getenv("BENCH_WAYBILLS")) do
    local waybill, _, order, openid = line:match("^([^\t]+)\t([^\t]+)\t([^\t]+)\t([^\t]+)")
    table.insert(bodies, string.format('{"order_id":"%s","openid":"%s","delivery_id":"BENCH","waybill_id":"%s"}', order, openid, waybill))
  end
  math.randomseed(id + 7)
  ok = 0
  path = "/cgi-bin/express/business/path/get?access_token=" .. os.getenv("BENCH_ACCESS_TOKEN")
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  return wrk.format(nil, path, nil, bodies[math.random(#bodies)])
end

function response(status, headers, body)
  if status == 200 and body:find('"path_item_num"', 1, true) then
    ok = ok + 1
  end
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
