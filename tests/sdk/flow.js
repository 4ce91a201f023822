// What the SDK drivers (twilio_flow.js, stripe_flow.js) share: counted checks and the closing line,
// a local receiver of webhooks/callbacks, polling against a deadline, the error of a failing call.
"use strict";
const http = require("http");

let failures = 0;
let checks = 0;

// Count a check; print it when it failed.
function check(ok, what, detail) {
  checks++;
  if (ok) return;
  failures++;
  console.log(`FAIL: ${what}${detail === undefined ? "" : ": " + JSON.stringify(detail)}`);
}

// Print "LABEL: N checks, M failed" and exit 0 only when some checks ran and none failed.
function finish(label) {
  console.log(`${label}: ${checks} checks, ${failures} failed`);
  process.exit(failures === 0 && checks > 0 ? 0 : 1);
}

// A local receiver answering `status`: every POST kept with its URL, headers and raw body (and
// `params`, parse(body), when parse is given).
function receiver(status, parse) {
  const got = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      const r = { path: req.url, headers: req.headers, raw: body };
      if (parse) r.params = parse(body);
      got.push(r);
      res.writeHead(status);
      res.end();
    });
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve({ server, got, port: server.address().port })));
}

// Poll until cond() (sync or async) holds or the deadline passes (no fixed sleeps decide a result).
async function until(cond, ms) {
  const end = Date.now() + ms;
  for (let delay = 10; Date.now() < end; delay = Math.min(delay * 2, 200)) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, delay));
  }
  return cond();
}

// The error of a call that must fail (null when it did not).
async function error(promise) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  return null;
}

module.exports = { check, finish, receiver, until, error };
