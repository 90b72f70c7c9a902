-- betwin.lua: wrk script for scripts/run-bench.sh. Each request is one
-- POST /api/v1/ledger/transfers carrying a linked [bet, win] pair for one player: the bet
-- moves 1..100 minor units from the player's cash account to the house casino account, the
-- win 1..100 back. Players rotate over the funded cash accounts listed one id per line in
-- BETWIN_ACCOUNTS; BETWIN_HOUSE is the house casino account id; BETWIN_TOKEN the staff token.
-- Every request carries a new Idempotency-Key: BETWIN_RUN (unique per run), the wrk thread
-- and a counter. At the end it prints how many answers were 201 and the first other answer.

local threads = {}
local next_thread = 0

function setup(thread)
   thread:set("tid", next_thread)
   next_thread = next_thread + 1
   table.insert(threads, thread)
end

function init(args)
   accounts = {}
   for line in io.lines(os.getenv("BETWIN_ACCOUNTS")) do
      accounts[#accounts + 1] = tonumber(line)
   end
   assert(#accounts > 0, "BETWIN_ACCOUNTS lists no accounts")
   house = assert(tonumber(os.getenv("BETWIN_HOUSE")), "BETWIN_HOUSE not set")
   run = assert(os.getenv("BETWIN_RUN"), "BETWIN_RUN not set")
   headers = {
      ["Content-Type"] = "application/json",
      ["Authorization"] = "Bearer " .. assert(os.getenv("BETWIN_TOKEN"), "BETWIN_TOKEN not set"),
   }
   counter = 0
   created = 0
   other = 0
   first_other = ""
   -- threads start at different players so that they spread over the accounts
   offset = math.floor(#accounts * tid / 16)
   math.randomseed(os.time() + tid * 7919)
end

local pair = '{"transfers":[' ..
   '{"kind":"posted","debit_account":%d,"credit_account":%d,"amount_minor":%d,' ..
   '"code":"bet","reference":"round:%s"},' ..
   '{"kind":"posted","debit_account":%d,"credit_account":%d,"amount_minor":%d,' ..
   '"code":"win","reference":"round:%s"}]}'

function request()
   counter = counter + 1
   local player = accounts[(offset + counter) % #accounts + 1]
   local round = run .. "-" .. tid .. "-" .. counter
   headers["Idempotency-Key"] = round
   local body = string.format(pair, player, house, math.random(1, 100), round,
                              house, player, math.random(1, 100), round)
   return wrk.format("POST", "/api/v1/ledger/transfers", headers, body)
end

function response(status, hdrs, body)
   if status == 201 then
      created = created + 1
   else
      other = other + 1
      if first_other == "" then
         first_other = status .. " " .. body
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
   io.write(string.format("betwin: %d answers 201, %d other%s\n", total_created, total_other,
                          sample ~= "" and (" (first: " .. sample:sub(1, 300) .. ")") or ""))
end
