-- wrk script for the benches (order_flow.py, marketing.py, catalog.py): pre-built requests read
-- from a file, then drain.
--
-- Usage (one wrk thread only: wrk calls request() once in thread 0 to verify it, and this
-- script answers that call without consuming a record):
--   wrk -t1 -c32 -d<cap>s -s bench/wrk_records.lua <url> -- <records> <deadline> <marker> <needle> <cycle|once>
--
-- records  one request per line: path TAB content-type TAB authorization-or-empty TAB body
--          (an authorization written `Cookie: <cookies>` is sent as a Cookie header instead)
--          (a path written `GET /the/path?query` is sent as a GET, without body or type)
-- deadline unix time after which no new request is sent (0: none); in-flight ones finish
-- marker   file written (and the thread stopped) once nothing is in flight any more after
--          the deadline passed or, with `once`, every record was sent once
-- needle   a 2xx answer counts as ok only if its body contains this string ("" = any 2xx)
-- cycle    `cycle` rotates through the records; `once` sends each record exactly once
--
-- done() prints one line `BENCH_JSON {...}` with counts and latency percentiles (ms), and
-- `outcomes`: answers by status, a non-2xx one with the API's error code from its body
-- (`{"201": 500, "409 sold_out": 1500}`).

local records = {}
local idx = 0
-- Globals, not locals: done() reads them from each thread with thread:get().
sent, completed, ok, bad = 0, 0, 0, 0
first_error = ""
outcomes = {}
local deadline = 0
local marker = nil
local needle = nil
local cycle = true
local verified = false
local exhausted = false
local finished = false
local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   deadline = tonumber(args[2]) or 0
   marker = args[3]
   if args[4] ~= nil and args[4] ~= "" then
      needle = args[4]
   end
   cycle = args[5] ~= "once"
   for line in io.lines(args[1]) do
      local path, ctype, auth, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
      if path ~= nil then
         local headers = {}
         local method = "POST"
         local get_path = path:match("^GET (.*)$")
         if get_path ~= nil then
            method, path = "GET", get_path
         else
            headers["Content-Type"] = ctype
         end
         local cookie = auth:match("^Cookie: (.*)$")
         if cookie ~= nil then
            headers["Cookie"] = cookie
         elseif auth ~= "" then
            headers["Authorization"] = auth
         end
         table.insert(records, wrk.format(method, path, headers, body))
      end
   end
   if #records == 0 then
      error("no records in " .. args[1])
   end
end

local function maybe_finish()
   if exhausted and not finished and completed >= sent then
      finished = true
      local f = io.open(marker, "w")
      f:write(string.format("%d %d\n", sent, completed))
      f:close()
      wrk.thread:stop()
   end
end

function request()
   if not verified then -- wrk's verification call, made once before the run starts
      verified = true
      return records[1]
   end
   if not exhausted and deadline > 0 and os.time() >= deadline then
      exhausted = true
   end
   if not exhausted then
      idx = idx + 1
      if idx > #records then
         if cycle then
            idx = 1
         else
            exhausted = true
         end
      end
   end
   if exhausted then
      -- An empty request leaves the connection idle, so in-flight requests drain.
      maybe_finish()
      return ""
   end
   sent = sent + 1
   return records[idx]
end

function response(status, headers, body)
   completed = completed + 1
   local outcome = tostring(status)
   if status < 200 or status >= 300 then
      local code = body and body:match('"code"%s*:%s*"([^"]*)"')
      if code then
         outcome = outcome .. " " .. code
      end
   end
   outcomes[outcome] = (outcomes[outcome] or 0) + 1
   if status >= 200 and status < 300 and (needle == nil or (body ~= nil and body:find(needle, 1, true))) then
      ok = ok + 1
   else
      bad = bad + 1
      if first_error == "" then
         first_error = tostring(status) .. " " .. string.sub(body or "", 1, 300)
      end
   end
   maybe_finish()
end

local function json_string(s)
   return '"' .. s:gsub('[%c"\\]', function(c)
      return string.format("\\u%04x", c:byte())
   end) .. '"'
end

function done(summary, latency, requests)
   local t_sent, t_completed, t_ok, t_bad, t_error = 0, 0, 0, 0, ""
   local t_outcomes = {}
   for _, thread in ipairs(threads) do
      for outcome, n in pairs(thread:get("outcomes") or {}) do
         t_outcomes[outcome] = (t_outcomes[outcome] or 0) + n
      end
      t_sent = t_sent + (thread:get("sent") or 0)
      t_completed = t_completed + (thread:get("completed") or 0)
      t_ok = t_ok + (thread:get("ok") or 0)
      t_bad = t_bad + (thread:get("bad") or 0)
      if t_error == "" then
         t_error = thread:get("first_error") or ""
      end
   end
   local parts = {}
   for outcome, n in pairs(t_outcomes) do
      table.insert(parts, json_string(outcome) .. ":" .. tostring(n))
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests":%d,"duration_us":%d,"sent":%d,"completed":%d,"ok":%d,"bad":%d,'
         .. '"connect_errors":%d,"read_errors":%d,"write_errors":%d,"status_errors":%d,'
         .. '"timeouts":%d,"p50_ms":%.3f,"p90_ms":%.3f,"p95_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,'
         .. '"mean_ms":%.3f,"first_error":%s,"outcomes":{%s}}\n',
      summary.requests, summary.duration, t_sent, t_completed, t_ok, t_bad,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50) / 1000, latency:percentile(90) / 1000,
      latency:percentile(95) / 1000, latency:percentile(99) / 1000, latency.max / 1000, latency.mean / 1000,
      json_string(t_error), table.concat(parts, ",")))
end
