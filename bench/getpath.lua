-- wrk: getPath by the merchant on the seeded waybills in turn (each with its seeded events).
dofile("bench/common.lua")

function init(args)
  next_waybill = seed_lines(os.getenv("BENCH_WAYBILLS"))
  ok = 0
  path = "/cgi-bin/express/business/path/get?access_token=" .. os.getenv("BENCH_ACCESS_TOKEN")
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  local waybill, _, order, openid = next_waybill():match("^([^\t]+)\t([^\t]+)\t([^\t]+)\t([^\t]+)")
  return wrk.format(nil, path, nil,
    string.format('{"order_id":"%s","openid":"%s","delivery_id":"BENCH","waybill_id":"%s"}', order, openid, waybill))
end

function response(status, headers, body)
  if status == 200 and body:find('"path_item_num"', 1, true) then
    ok = ok + 1
  end
end

