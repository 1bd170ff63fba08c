-- wrk: the tracking page of the seeded waybills in turn, through their signed links.
dofile("bench/common.lua")

function init(args)
  next_page = seed_lines(os.getenv("BENCH_PAGES"))
  ok = 0
end

function request()
  return wrk.format("GET", next_page())
end

function response(status, headers, body)
  if status == 200 then
    ok = ok + 1
  end
end

