-- wrk: the tracking page of random seeded waybills, through their signed links.
dofile("bench/common.lua")

function init(args)
  pages = {}
  for line in io.lines(os.getenv("BENCH_PAGES")) do
    table.insert(pages, line)
  end
  math.randomseed(id + 11)
  ok = 0
end

function request()
  return wrk.format("GET", pages[math.random(#pages)])
end

function response(status, headers, body)
  if status == 200 then
    ok = ok + 1
  end
end

