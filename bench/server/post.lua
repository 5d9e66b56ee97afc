-- wrk script for the server benchmark: every request POSTs the same small NDJSON event, read
-- from the file named by the BODY_FILE environment variable, to the URL given on the command line.
local f = assert(io.open(os.getenv("BODY_FILE"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
wrk.headers["Content-Type"] = "application/x-ndjson"
f:close()
