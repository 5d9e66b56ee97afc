-- wrk script for the server benchmark: every request POSTs one small NDJSON event, the row in the
-- file named by BODY_FILE with its "n" field replaced by a per-request counter, so no two bodies
-- are equal (sluice skips a body it accepted before: idempotency by body hash, SPEC §2).
local f = assert(io.open(os.getenv("BODY_FILE"), "rb"))
local row = f:read("*a"):gsub("%s+$", "")
f:close()
local head, tail = row:match('^(.*"n":)%d+(.*)$')
assert(head, "BODY_FILE must hold a row with an integer \"n\" field")
local counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-ndjson"

function request()
    counter = counter + 1
    return wrk.format(nil, nil, nil, head .. counter .. tail)
end
