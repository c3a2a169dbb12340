#!/usr/bin/env python3
"""For test/wine/run: opens the page StreamDoctor serves (under Wine) from
Linux over plain HTTP, the way a browser does: the launch address's key
for the session cookie, the page, then one check followed to its result.
Prints "page 200, check: TOP_CAUSE"; exits 1 on anything else."""
import http.cookiejar, json, sys, urllib.request

link = sys.argv[1]
jar = http.cookiejar.CookieJar()
op = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
page = op.open(link, timeout=30)
body = page.read().decode()
if page.status != 200 or "<html" not in body.lower() or not len(jar):
    sys.exit(f"page: {page.status}, {len(jar)} cookies")
base = link.split("?")[0].rstrip("/")
if len(sys.argv) > 2 and sys.argv[2] == "--page-only":
    print("page 200")
    sys.exit()
req = urllib.request.Request(base + "/api/check", data=b"{}", headers={"Content-Type": "application/json"})
run = json.load(op.open(req, timeout=30))
ev = op.open(base + "/api/events?id=" + run["id"], timeout=120)
name = ""
for raw in ev:
    line = raw.decode().rstrip("\n")
    if line.startswith("event: "):
        name = line[7:]
    elif line.startswith("data: ") and name in ("result", "failed"):
        d = json.loads(line[6:])
        if name == "failed":
            sys.exit("check failed: " + d.get("error", ""))
        print("page 200, check:", d["verdict"]["top_cause"])
        sys.exit()
sys.exit("the event stream ended without a result")
