-- wrk: updatePath with a new event on every request, spread over the seeded waybills.
-- Counts the answers with errcode 0, so that the run can check afterwards that each of them is in the store.
dofile("bench/common.lua")

function init(args)
  waybills, tokens = {}, {}
  for line in io.lines(os.getenv("BENCH_WAYBILLS")) do
    local waybill, token = line:match("^([^\t]+)\t([^\t]+)")
    table.insert(waybills, waybill)
    table.insert(tokens, token)
  end
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
  local i = (counter % #waybills) + 1
  local body = string.format(
    '{"token":"%s","waybill_id":"%s","action_time":%d,"action_type":200001,"action_msg":"快件已到达第%d站，联系电话18666666666"}',
    tokens[i], waybills[i], 1600000000 + (counter % 100000000), counter)
  return wrk.format(nil, path, nil, body)
end

function response(status, headers, body)
  if status == 200 and body:find('"errcode":0', 1, true) then
    ok = ok + 1
  end
end

