-- wrk: getPath by the merchant on random seeded waybills (each with its seeded events).
dofile("bench/common.lua")

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

