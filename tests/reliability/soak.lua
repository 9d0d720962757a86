-- wrk script of the soak test: GETs rotating over the blog example's read endpoints, one in
-- five as a signed-in user (the token is the script's first argument); prints one line
-- "SOAK {json}" with the totals, each status's count and the latency percentiles (us).
local paths = {
  {"/api/posts/", false},
  {"/api/posts/abc-123/", false},
  {"/api/users/me/", true},
  {"/api/comments/?post=1", false},
  {"/api/tags/", false},
}
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  token = "Bearer " .. args[1]
  statuses = {}
  index = 0
end

function request()
  index = index + 1
  local entry = paths[(index % #paths) + 1]
  if entry[2] then
    return wrk.format("GET", entry[1], {Authorization = token})
  end
  return wrk.format("GET", entry[1])
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      counts[status] = (counts[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(counts) do
    table.insert(parts, string.format('"%d": %d', status, count))
  end
  local errors = summary.errors
  io.write(string.format(
    'SOAK {"requests": %d, "seconds": %.3f, "statuses": {%s}, "socket_errors": %d, ' ..
    '"p50_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration / 1e6, table.concat(parts, ", "),
    errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.max
  ))
end
