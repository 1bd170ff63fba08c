-- wrk: updatePath with a new event on every request, spread over the seeded waybills.
-- Counts the answers with errcode 0, so that the run can check afterwards that each of them is in the store.
dofile("bench/common.lua")

function init(args)
  next_waybill = seed_lines(os.getenv("BENCH_WAYBILLS"))
  -- Each run (warm-up, measured) and each thread has a counter range of its own, so that no two requests of a
  -- benchmark send the same event.
  counter = (tonumber(os.getenv("BENCH_RUN") or "0") * 10 + id) * 100000000
  ok = 0
  path = "/cgi-bin/express/delivery/path/update?access_token=" .. (os.getenv("BENCH_ACCESS_TOKEN") or "none")
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  counter = counter + 1
  local waybill, token = next_waybill():match("^([^\t]+)\t([^\t]+)")
  local body = string.format(
    '{"token":"%s","waybill_id":"%s","action_time":%d,"action_type":200001,"action_msg":"快件已到达第%d站，联系电话18666666666"}',
    token, waybill, 1600000000 + (counter % 100000000), counter)
  return wrk.format(nil, path, nil, body)
end

function response(status, headers, body)
  if status == 200 and body:find('"errcode":0', 1, true) then
    ok = ok + 1
  end
end

