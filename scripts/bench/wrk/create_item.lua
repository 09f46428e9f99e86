-- POST /items with a name no other request uses: BENCH_NAME_PREFIX (unique per run), the
-- thread's number and a per-thread counter. Names are unique per owner, so a repeat is a 409.

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

local threads_set_up = 0
function setup(thread)
   threads_set_up = threads_set_up + 1
   thread:set("thread_number", threads_set_up)
end

local prefix
local counter = 0
function init(args)
   prefix = os.getenv("BENCH_NAME_PREFIX") .. "-" .. thread_number
end

function request()
   counter = counter + 1
   local body = string.format('{"name": "%s-%d", "description": "Created by the benchmark."}',
      prefix, counter)
   return wrk.format(nil, "/items", nil, body)
end
