-- GET /items/{id} of a random seeded item: BENCH_IDS_FILE lists the ids, one a line.

local ids = {}
for line in io.lines(os.getenv("BENCH_IDS_FILE")) do
   ids[#ids + 1] = line
end
math.randomseed(os.time())

function request()
   return wrk.format("GET", "/items/" .. ids[math.random(#ids)])
end
