-- wrk script for bench/api_catalog.py's run_wrk: each request is a random line of a file
-- of requests, one per line as "<path>\t<header line>\t<header line>..." (no headers: the
-- path alone); done() prints the figures as one JSON line after "wrk-json: ".
--   wrk -c 16 -d 10 -s bench/wrk_requests.lua http://127.0.0.1:8000 -- requests.txt 7

local requests = {}
local counter = 0

function setup(thread)
    counter = counter + 1
    thread:set("number", counter)
end

function init(args)
    local number = tonumber(args[2] or "0") + (number or 0)
    math.randomseed(number)
    for line in io.lines(args[1]) do
        local path, rest = line:match("^([^\t]*)\t?(.*)$")
        local headers = {Accept = "application/json"}
        for header in rest:gmatch("[^\t]+") do
            local name, value = header:match("^([^:]+):%s*(.*)$")
            headers[name] = value
        end
        requests[#requests + 1] = wrk.format("GET", path, headers)
    end
end

function request()
    return requests[math.random(#requests)]
end

function done(summary, latency, requests)
    local errors = summary.errors
    io.write(string.format(
        'wrk-json: {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, '
            .. '"p99_us": %d, "max_us": %d, "connect": %d, "read": %d, "write": %d, '
            .. '"status": %d, "timeout": %d}\n',
        summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
        latency:percentile(99), latency.max, errors.connect, errors.read, errors.write,
        errors.status, errors.timeout
    ))
end
