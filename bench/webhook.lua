-- bench/webhook.lua: the wrk script of webhook-bench.
--
--	wrk -t T -c C -d D -s webhook.lua URL -- PREFIX LENGTH
--
-- Thread K (0-based) sends the pre-signed requests of PREFIX-K.req, a file
-- of whole HTTP requests of LENGTH bytes each written by webhook-bench,
-- in order; past the last it starts again from the first (those repeats
-- are duplicates, answered 200, and counted in "wrapped").  Statuses are
-- counted per thread, and done() prints one machine-readable line that
-- webhook-bench parses:
--
--	webhook-bench-wrk requests=N duration_us=N p50_us=N ... s202=N ...

local nthreads = 0
local threads = {}

function setup(thread)
	thread:set("tid", nthreads)
	table.insert(threads, thread)
	nthreads = nthreads + 1
end

function init(args)
	local path = string.format("%s-%d.req", args[1], tid)
	local f = assert(io.open(path, "rb"))

	reqlen = assert(tonumber(args[2]), "bad request length")
	data = f:read("*a")
	f:close()
	count = math.floor(#data / reqlen)
	assert(count > 0 and count * reqlen == #data,
	    path .. ": not whole requests of " .. reqlen .. " bytes")
	nextreq = 0
	sent = 0
	wrapped = 0
	s200 = 0
	s202 = 0
	s429 = 0
	s503 = 0
	other = 0
	first_other = 0
end

function request()
	local off = nextreq * reqlen

	nextreq = nextreq + 1
	if nextreq == count then
		nextreq = 0
		wrapped = wrapped + 1
	end
	sent = sent + 1
	return string.sub(data, off + 1, off + reqlen)
end

function response(status, headers, body)
	if status == 202 then
		s202 = s202 + 1
	elseif status == 200 then
		s200 = s200 + 1
	elseif status == 429 then
		s429 = s429 + 1
	elseif status == 503 then
		s503 = s503 + 1
	else
		other = other + 1
		if first_other == 0 then
			first_other = status
		end
	end
end

-- The sum of global NAME over the threads.
local function total(name)
	local n = 0

	for _, t in ipairs(threads) do
		n = n + (t:get(name) or 0)
	end
	return n
end

function done(summary, latency, requests)
	local e = summary.errors
	local fo = 0

	for _, t in ipairs(threads) do
		if fo == 0 then
			fo = t:get("first_other") or 0
		end
	end
	io.write(string.format("webhook-bench-wrk requests=%d " ..
	    "duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d " ..
	    "mean_us=%.0f connect=%d read=%d write=%d status=%d " ..
	    "timeout=%d sent=%d wrapped=%d s200=%d s202=%d s429=%d " ..
	    "s503=%d other=%d first_other=%d threads=%d\n",
	    summary.requests, summary.duration, latency:percentile(50),
	    latency:percentile(90), latency:percentile(99), latency.max,
	    latency.mean, e.connect, e.read, e.write, e.status, e.timeout,
	    total("sent"), total("wrapped"), total("s200"), total("s202"),
	    total("s429"), total("s503"), total("other"), fo, nthreads))
end
