-- wrk script: refresh-token rotations, each token presented once. Reads
-- the starting refresh tokens (one per line) from the file named by
-- REFRESH_TOKENS into a queue; each request takes the oldest token and
-- each response's new refresh token joins the queue. (wrk asks for a
-- connection's next request only after other connections' responses may
-- have been read, so the queue, not the connection, carries the chain.)
-- A queue that runs dry (responses without a token) sends a request that
-- answers 404, so it shows as non-2xx instead of as fast refreshes.
-- Used by scripts/bench.sh, bench-store.sh and callgrind.sh.
local queue, head, tail = {}, 1, 0
for line in io.lines(os.getenv("REFRESH_TOKENS")) do tail = tail + 1; queue[tail] = line end
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
request = function()
  if head > tail then return wrk.format("GET", "/refresh-chain-ran-dry") end
  local token = queue[head]
  queue[head] = nil
  head = head + 1
  return wrk.format(nil, nil, nil, '{"refresh_token":"' .. token .. '"}')
end
response = function(status, headers, body)
  local token = body:match('"refresh_token":"([^"]+)"')
  if token then tail = tail + 1; queue[tail] = token end
end
