-- casino_play.lua: wrk script for the casino play route. Each request is one
-- POST /api/v1/games/<PLAY_GAME>/play (default dice) by one of the players whose session
-- tokens are listed one per line in PLAY_TOKENS, with PLAY_BODY (default a 1.00 EUR dice bet
-- under 50.00) and a new Idempotency-Key (PLAY_RUN, the wrk thread, a counter). At the end
-- it prints how many answers were 201 and the first other answer.

local threads = {}
local next_thread = 0

function setup(thread)
   thread:set("tid", next_thread)
   next_thread = next_thread + 1
   table.insert(threads, thread)
end

function init(args)
   tokens = {}
   local file = assert(os.getenv("PLAY_TOKENS"), "PLAY_TOKENS not set")
   for line in io.lines(file) do
      tokens[#tokens + 1] = line
   end
   assert(#tokens > 0, "PLAY_TOKENS lists no tokens")
   run = assert(os.getenv("PLAY_RUN"), "PLAY_RUN not set")
   path = "/api/v1/games/" .. (os.getenv("PLAY_GAME") or "dice") .. "/play"
   body = os.getenv("PLAY_BODY")
   if body == nil or body == "" then
      body = '{"currency":"EUR","stake_minor":100,"bet":{"target":5000,"direction":"under"}}'
   end
   headers = {["Content-Type"] = "application/json"}
   counter = 0
   created = 0
   other = 0
   first_other = ""
end

function request()
   counter = counter + 1
   headers["Authorization"] = "Bearer " .. tokens[(tid * 7 + counter) % #tokens + 1]
   headers["Idempotency-Key"] = run .. "-" .. tid .. "-" .. counter
   return wrk.format("POST", path, headers, body)
end

function response(status, hdrs, resp_body)
   if status == 201 then
      created = created + 1
   else
      other = other + 1
      if first_other == "" then
         first_other = status .. " " .. resp_body
      end
   end
end

function done(summary, latency, requests)
   local total_created, total_other, sample = 0, 0, ""
   for _, thread in ipairs(threads) do
      total_created = total_created + thread:get("created")
      total_other = total_other + thread:get("other")
      local first = thread:get("first_other")
      if sample == "" and first ~= nil then
         sample = first
      end
   end
   io.write(string.format("casino_play: %d answers 201, %d other%s\n", total_created,
                          total_other, sample ~= "" and (" (first: " .. sample:sub(1, 300) .. ")")
                          or ""))
end
