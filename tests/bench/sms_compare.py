#!/usr/bin/env python3
"""Compare two sbx-mock-sms binaries' answers and stored records for the same requests.

    python3 tests/bench/sms_compare.py OLD_BIN NEW_BIN

Both run side by side (--delivery-delay 5ms, a Twilio account and token, a status callback to a
closed port); the same requests go to each: JSON API sends (escapes, control characters, UTF-8,
long bodies, magic numbers, malformed bodies), Twilio sends, then every record is read back once
its status settled (inspection API and Twilio's view) and the lists compared. Ids, timestamps and
Twilio's dates are replaced by placeholders before comparing. Exit 1 on any difference.
"""
import http.server, threading, json, os, re, subprocess, sys, tempfile, time, urllib.request, urllib.error, base64

SID, TOKEN = "ACcmp0123456789", "cmp-token"
UNDELIVERED, FAILED = "+15005550010", "+15005550011"
RECEIVED = []


class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        RECEIVED.append((self.path, self.headers.get("Content-Type"), body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


RX = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
threading.Thread(target=RX.serve_forever, daemon=True).start()
CB = "http://127.0.0.1:%d" % RX.server_address[1]


def start(binary, tmp):
    open(os.path.join(tmp, "sid"), "w").write(SID + "\n")
    open(os.path.join(tmp, "tok"), "w").write(TOKEN + "\n")
    os.chmod(os.path.join(tmp, "sid"), 0o600)
    os.chmod(os.path.join(tmp, "tok"), 0o600)
    out = open(os.path.join(tmp, "out"), "w+")
    p = subprocess.Popen([binary, "--listen", "127.0.0.1:0", "--quiet", "--delivery-delay", "5ms", "--callback-url", CB + "/all",
                          "--account-sid-file", os.path.join(tmp, "sid"),
                          "--auth-token-file", os.path.join(tmp, "tok")],
                         stdout=out, stderr=subprocess.DEVNULL)
    deadline = time.time() + 20
    while time.time() < deadline:
        m = re.search(r"listening on (\S+)", open(os.path.join(tmp, "out")).read())
        if m:
            return p, m.group(1)
        time.sleep(0.05)
    p.kill()
    raise SystemExit(binary + " did not start")


def call(url, method="GET", body=None, ctype="application/json", auth=False):
    req = urllib.request.Request(url, data=body, method=method)
    if body is not None:
        req.add_header("Content-Type", ctype)
    if auth:
        req.add_header("Authorization", "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode())
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


IDRE = re.compile(r"SM[0-9a-z]{32}")
TSRE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
TWDATE = re.compile(r"[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d \+0000")


def norm(raw, ids):
    text = raw.decode("utf-8", "replace")
    for sid in IDRE.findall(text):
        ids.setdefault(sid, "ID%d" % len(ids))
        text = text.replace(sid, ids[sid])
    return TWDATE.sub("DATE", TSRE.sub("TS", text))


def bodies():
    long_utf8 = "é" * 800 + "€" * 800
    docs = [
        {"to": "+15551234567", "from": "Acme", "body": "your code is 123456"},
        {"to": "+15551234567", "from": "+15557654321", "body": 'quote " backslash \\ slash /'},
        {"to": "+15551234567", "from": "Acme", "body": "ctl \b\f\n\r\t \x01\x1f \x7f end"},
        {"to": "+15551234567", "from": "Acme", "body": "utf-8: ünïcødé 日本語 😀 \u2028"},
        {"to": "+15551234567", "from": "Acme", "body": long_utf8},
        {"to": "+15551234567", "from": "Acme", "body": "x" * 1601},
        {"to": "+15551234567", "from": "Acme", "body": "y" * 161},
        {"to": "+15551234567", "from": "Acme", "body": "hi", "status_callback": CB + "/own"},
        {"to": "+15551234567", "from": "Acme", "body": "hi", "status_callback": None},
        {"to": "+15551234567", "from": "Acme", "body": "hi", "status_callback": "ftp://x"},
        {"to": "+15005550001", "from": "Acme", "body": "hi"},
        {"to": "+15005550002", "from": "Acme", "body": "hi"},
        {"to": "+15005550003", "from": "Acme", "body": "hi"},
        {"to": "+15005550004", "from": "Acme", "body": "hi"},
        {"to": "15551234567", "from": "Acme", "body": "hi"},
        {"to": "+15551234567", "from": "Acme Corp Ltd", "body": "hi"},
        {"to": "+15551234567", "from": "Acme", "body": ""},
        {"to": "+15551234567", "from": "Acme", "body": 5},
        {"to": "+15551234567", "body": "hi"},
        {"to": "+15551234567", "from": "Acme", "body": "hi", "extra": [1, {"a": None}]},
    ]
    raw = [json.dumps(d).encode() for d in docs]
    raw += [json.dumps(d, ensure_ascii=False).encode() for d in docs[1:5]]
    raw += [b"", b"{", b"[]", b"null", b'{"to":"+15551234567","to":"+15551234568","from":"A","body":"b"}',
            b'{"to":"+15551234567","from":"Acme","body":"\\ud800"}', b'{"to":"+1555\\u0031234567","from":"Acme","body":"esc"}',
            b'{"to":"+15551234567","from":"Acme","body":"\xff"}', b'  {"to":"+15551234567","from":"Acme","body":"ws"}  ',
            b'{"to":"+15551234567","from":"Acme","body":"trailing"} x']
    return raw


def twilio_forms():
    from urllib.parse import urlencode
    return [urlencode(f).encode() for f in [
        {"To": "+15551234567", "From": "+15557654321", "Body": "twilio hi"},
        {"To": "+15551234567", "MessagingServiceSid": "MG" + "0123456789abcdef" * 2, "Body": 'q"\\ é 😀'},
        {"To": UNDELIVERED, "From": "+15557654321", "Body": "undelivered", "StatusCallback": CB + "/u"},
        {"To": FAILED, "From": "+15557654321", "Body": "failed"},
        {"To": "+15551234567", "From": "+15557654321", "Body": "cb", "StatusCallback": CB + "/tw"},
        {"To": "+15551234567", "From": "+15557654321"},
    ]]


def session(url):
    ids, out, sids = {}, [], []
    RECEIVED.clear()
    for b in bodies():
        st, r = call(url + "/v1/messages", "POST", b)
        out.append(("POST", st, norm(r, ids)))
        if st == 201:
            sids.append(json.loads(r)["id"])
    tw = f"{url}/2010-04-01/Accounts/{SID}/Messages"
    for f in twilio_forms():
        st, r = call(tw + ".json", "POST", f, "application/x-www-form-urlencoded", auth=True)
        out.append(("TWPOST", st, norm(r, ids)))
        if st == 201:
            sids.append(json.loads(r)["sid"])
    deadline = time.time() + 10
    for sid in sids:  # until every record settled
        while time.time() < deadline:
            st, r = call(f"{url}/v1/messages/{sid}")
            if json.loads(r).get("status") in ("delivered", "failed", "undelivered"):
                break
            time.sleep(0.02)
    for sid in sids:
        out.append(("GET", *[x if i == 0 else norm(x, ids) for i, x in enumerate(call(f"{url}/v1/messages/{sid}"))]))
        out.append(("TWGET", *[x if i == 0 else norm(x, ids) for i, x in enumerate(call(f"{tw}/{sid}.json", auth=True))]))
    out.append(("LIST", *[x if i == 0 else norm(x, ids) for i, x in enumerate(call(url + "/v1/messages?limit=100"))]))
    out.append(("FILTER", *[x if i == 0 else norm(x, ids) for i, x in enumerate(call(url + "/v1/messages?status=failed"))]))
    deadline = time.time() + 10
    while time.time() < deadline and len(RECEIVED) < len(sids) * 3:
        time.sleep(0.05)
    time.sleep(0.5)  # any late ones
    got = sorted(f"{p} {t} " + norm(b, ids) for p, t, b in RECEIVED)
    RECEIVED.clear()
    out.append(("CALLBACKS", len(got), got))
    hooks = json.loads(call(url + "/v1/webhook_deliveries?limit=1000")[1])["items"]
    for h in hooks:  # the order of deliveries between receivers depends on timing
        for k in ("id", "history", "attempts", "status", "error", "updated_at", "response_status"):
            h.pop(k, None)
    out.append(("HOOKS", len(hooks), sorted(norm(json.dumps(h, sort_keys=True).encode(), ids) for h in hooks)))
    out.append(("TWLIST", *[x if i == 0 else norm(x, ids) for i, x in enumerate(call(tw + ".json?PageSize=100", auth=True))]))
    return out


def main():
    results = []
    for binary in sys.argv[1:3]:
        with tempfile.TemporaryDirectory() as tmp:
            p, url = start(binary, tmp)
            try:
                results.append(session(url))
            finally:
                p.terminate()
                p.wait()
    a, b = results
    diffs = [(x, y) for x, y in zip(a, b) if x != y]
    for x, y in diffs:
        print("DIFF\n  old:", str(x)[:2000], "\n  new:", str(y)[:2000])
    print(f"{len(a)} answers compared, {len(diffs)} differ" + ("" if len(a) == len(b) else " (counts differ)"))
    sys.exit(1 if diffs or len(a) != len(b) else 0)


main()
