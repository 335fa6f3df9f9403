-- wrk script: a chain of refresh-token rotations per connection. Reads
-- the starting refresh tokens (one per line) from the file named by
-- REFRESH_TOKENS; each response's new refresh token is that connection's
-- next request. Used by scripts/bench.sh, bench-store.sh and callgrind.sh.
local queue, head, tail = {}, 1, 0
for line in io.lines(os.getenv("REFRESH_TOKENS")) do tail = tail + 1; queue[tail] = line end
local next_token = nil
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
-- wrk asks for a connection's next request right after handing it the
-- previous response, so a response's new token is that connection's next
-- request; a connection's first request takes an unused token.
request = function()
  local token = next_token
  next_token = nil
  if not token and head <= tail then token = queue[head]; queue[head] = nil; head = head + 1 end
  if not token then return wrk.format("GET", "/healthz") end
  return wrk.format(nil, nil, nil, '{"refresh_token":"' .. token .. '"}')
end
response = function(status, headers, body)
  next_token = body:match('"refresh_token":"([^"]+)"')
end
