// The official twilio SDK (tests/sdk/package.json pins it) against sbx-mock-sms, as an application
// uses it: send, fetch, list with paging, wait for delivery, the documented errors, a wrong auth
// token, signed status callbacks verified with twilio.validateRequest, a route outside the subset.
// Run by tests/mocks/sdk_twilio.sh with TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_API_BASE
// (the mock) and MOCK_API_KEY (its inspection API). Prints one line per check; exits 1 on a failure.
"use strict";
const querystring = require("querystring");
const twilio = require("twilio");
const { check, finish, receiver, until, error } = require("./flow");

const SID = process.env.TWILIO_ACCOUNT_SID;
const TOKEN = process.env.TWILIO_AUTH_TOKEN;
const BASE = process.env.TWILIO_API_BASE;
const API_KEY = process.env.MOCK_API_KEY;
const FROM = "+15005550006";

// The client as the README tells application teams to build it.
function client(token) {
  const c = twilio(SID, token);
  c.api.baseUrl = BASE;
  return c;
}

// The mock's long-poll inspection API: the message with this id once it has this status.
async function waitStatus(to, id, status) {
  const url = `${BASE}/v1/messages/wait?to=${encodeURIComponent(to)}&id=${id}&status=${status}&timeout=20s`;
  const r = await fetch(url, { headers: { Authorization: `Bearer ${API_KEY}` } });
  return r.status === 200 ? r.json() : null;
}

async function expectError(promise, status, code, what) {
  const e = await error(promise);
  check(e && e.status === status && e.code === code, `${what}: HTTP ${status} code ${code}`,
    e ? { status: e.status, code: e.code, message: e.message } : "no error");
  if (e && code) check(e.moreInfo === `https://www.twilio.com/docs/errors/${code}`, `${what}: more_info`, e.moreInfo);
  return e;
}

// Every callback of a message is signed so that validateRequest accepts it (and nothing else).
function checkCallbacks(rx, sid, cbUrl, want) {
  const mine = rx.got.filter((c) => c.params.MessageSid === sid);
  check(JSON.stringify(mine.map((c) => c.params.MessageStatus)) === JSON.stringify(want),
    `callbacks of ${sid}: ${want.join(" → ")}`, mine.map((c) => c.params.MessageStatus));
  for (const c of mine) {
    const sig = c.headers["x-twilio-signature"];
    const url = `http://127.0.0.1:${rx.port}${c.path}`;
    check(url === cbUrl, "callback URL is the StatusCallback", url);
    check(c.headers["content-type"] === "application/x-www-form-urlencoded", "callback is form-encoded",
      c.headers["content-type"]);
    check(twilio.validateRequest(TOKEN, sig, url, c.params), `validateRequest accepts the ${c.params.MessageStatus} callback`,
      { sig, params: c.params });
    check(!twilio.validateRequest(TOKEN + "x", sig, url, c.params), "validateRequest refuses another token");
    check(!twilio.validateRequest(TOKEN, sig, url, { ...c.params, MessageStatus: "read" }),
      "validateRequest refuses altered parameters");
    check(c.params.AccountSid === SID && c.params.ApiVersion === "2010-04-01" && c.params.SmsSid === sid &&
      c.params.SmsStatus === c.params.MessageStatus && c.params.From === FROM, "callback parameters", c.params);
  }
  return mine;
}

async function sendAndDeliver(c, rx) {
  const cbUrl = `http://127.0.0.1:${rx.port}/status?app=orders&n=1`;
  const to = "+15557770001";
  const m = await c.messages.create({ to, from: FROM, body: "Your code is 1234", statusCallback: cbUrl });
  check(/^SM[0-9a-f]{32}$/.test(m.sid), "sid is SM + 32 hex", m.sid);
  check(m.status === "queued" && m.to === to && m.from === FROM && m.body === "Your code is 1234",
    "create answers the queued message", m.toJSON());
  check(m.accountSid === SID && m.apiVersion === "2010-04-01" && m.direction === "outbound-api" &&
    m.numSegments === "1" && m.price === null && m.errorCode === null, "Twilio fields", m.toJSON());
  check(m.dateCreated instanceof Date && !isNaN(m.dateCreated) && Math.abs(m.dateCreated - Date.now()) < 120000,
    "date_created is an RFC 2822 date the SDK parses", m.dateCreated);
  check(m.uri === `/2010-04-01/Accounts/${SID}/Messages/${m.sid}.json`, "uri", m.uri);
  const rec = await waitStatus(to, m.sid, "delivered");
  check(rec && rec.id === m.sid, "the inspection API's wait sees it delivered", rec);
  const f = await c.messages(m.sid).fetch();
  check(f.sid === m.sid && f.status === "delivered" && f.dateSent instanceof Date && !isNaN(f.dateSent),
    "fetch: delivered, with date_sent", f.toJSON());
  check(await until(() => rx.got.filter((x) => x.params.MessageSid === m.sid).length >= 3, 20000),
    "three status callbacks arrive");
  checkCallbacks(rx, m.sid, cbUrl, ["queued", "sent", "delivered"]);
  return m;
}

async function undelivered(c, rx) {
  const cbUrl = `http://127.0.0.1:${rx.port}/status`;
  const to = "+15005550010";
  const m = await c.messages.create({ to, from: FROM, body: "never arrives", statusCallback: cbUrl });
  check(m.status === "queued", "the mock's undeliverable number is accepted", m.status);
  check((await waitStatus(to, m.sid, "undelivered")) !== null, "it becomes undelivered");
  const f = await c.messages(m.sid).fetch();
  check(f.status === "undelivered" && f.errorCode === 30003, "fetch: undelivered with error_code 30003", f.toJSON());
  check(await until(() => rx.got.filter((x) => x.params.MessageSid === m.sid).length >= 3, 20000),
    "its callbacks arrive");
  const cbs = checkCallbacks(rx, m.sid, cbUrl, ["queued", "sent", "undelivered"]);
  check(cbs.length === 3 && cbs[2].params.ErrorCode === "30003" && cbs[1].params.ErrorCode === undefined,
    "ErrorCode only on the failed status", cbs.map((x) => x.params.ErrorCode));
}

async function paging(c) {
  const to = "+15557770100";
  const sids = [];
  for (let i = 0; i < 5; i++) sids.push((await c.messages.create({ to, from: FROM, body: `page ${i}` })).sid);
  const all = await c.messages.list({ to, pageSize: 2 });
  check(JSON.stringify(all.map((m) => m.sid)) === JSON.stringify([...sids].reverse()),
    "list follows next_page_uri over 3 pages, newest first", all.map((m) => m.sid));
  const p1 = await c.messages.page({ to, pageSize: 2 });
  check(p1.instances.length === 2 && p1.nextPageUrl && p1.nextPageUrl.startsWith(BASE), "first page", p1.nextPageUrl);
  const p2 = await p1.nextPage();
  const p3 = await p2.nextPage();
  check(p2.instances.length === 2 && p3.instances.length === 1 && p3.nextPageUrl === undefined,
    "second and last page", [p2.instances.length, p3.instances.length, p3.nextPageUrl]);
  check(/[?&]PageToken=PA(SM[0-9a-f]{32})(&|$)/.test(p1.nextPageUrl) && p1.nextPageUrl.includes(`PASM${p1.instances[1].sid.slice(2)}`) &&
    /[?&]PageSize=2(&|$)/.test(p1.nextPageUrl) && /[?&]Page=1(&|$)/.test(p1.nextPageUrl),
    "next_page_uri: Page, PageSize and a PageToken anchored on the page's last message", p1.nextPageUrl);
  // A message created between two pages shifts nothing: page 2 starts after page 1's last message.
  const fresh = (await c.messages.create({ to, from: FROM, body: "between pages" })).sid;
  const q2 = await p1.nextPage();
  const q3 = await q2.nextPage();
  const seen = [...p1.instances, ...q2.instances, ...q3.instances].map((m) => m.sid);
  check(JSON.stringify(seen) === JSON.stringify([...sids].reverse()) && !seen.includes(fresh),
    "a message created between pages: no duplicate, no skip", { seen, want: [...sids].reverse(), fresh });
  const back = await q2.previousPage();
  check(JSON.stringify(back.instances.map((m) => m.sid)) === JSON.stringify(p1.instances.map((m) => m.sid)),
    "previous_page_uri anchored on the page's first message", back.instances.map((m) => m.sid));
  const top = await c.messages.page({ to, pageSize: 2 });
  check(top.instances[0].sid === fresh, "the new message heads a fresh first page", top.instances.map((m) => m.sid));
  await expectError(c.messages.page({ to, pageSize: 2, pageToken: "XX1" }), 400, null, "a malformed PageToken");
  sids.push(fresh);
  const limited = await c.messages.list({ to, limit: 3, pageSize: 2 });
  check(limited.length === 3, "list with a limit", limited.length);
  const other = await c.messages.list({ to: "+15557770999" });
  check(other.length === 0, "a filter that matches nothing", other.length);
  check((await c.messages(sids[0]).remove()) === true, "delete answers 204");
  await expectError(c.messages(sids[0]).fetch(), 404, 20404, "fetch after delete");
}

async function errors(c) {
  const to = "+15557770200";
  await expectError(c.messages.create({ to, from: FROM }), 400, 21602, "missing Body");
  await expectError(c.messages.create({ to: "12345", from: FROM, body: "x" }), 400, 21211, "invalid To");
  await expectError(c.messages.create({ to, from: "+0", body: "x" }), 400, 21212, "invalid From");
  const magicTo = { "+15005550001": 21211, "+15005550002": 21612, "+15005550003": 21408,
    "+15005550004": 21610, "+15005550009": 21614 };
  for (const [n, code] of Object.entries(magicTo))
    await expectError(c.messages.create({ to: n, from: FROM, body: "x" }), 400, code, `magic To ${n}`);
  const magicFrom = { "+15005550001": 21212, "+15005550007": 21606, "+15005550008": 21611 };
  for (const [n, code] of Object.entries(magicFrom))
    await expectError(c.messages.create({ to, from: n, body: "x" }), 400, code, `magic From ${n}`);
  await expectError(c.messages.create({ to, from: FROM, body: "x", statusCallback: "http://192.0.2.1/cb" }),
    400, 21609, "a StatusCallback outside the allowed networks");
  await expectError(c.messages.create({ to, body: "x", messagingServiceSid: "MG123" }), 400, 21701,
    "a malformed MessagingServiceSid");
  // The SDK refuses a missing To itself; the wire answer is checked without it.
  const r = await fetch(`${BASE}/2010-04-01/Accounts/${SID}/Messages.json`, {
    method: "POST", body: "From=%2B15005550006&Body=x",
    headers: { Authorization: "Basic " + Buffer.from(`${SID}:${TOKEN}`).toString("base64"),
      "Content-Type": "application/x-www-form-urlencoded" } });
  const b = await r.json();
  check(r.status === 400 && b.code === 21604 && b.status === 400, "missing To: 400 21604", b);
  const other = await fetch(`${BASE}/2010-04-01/Accounts/AC0000/Messages.json`, {
    headers: { Authorization: "Basic " + Buffer.from(`${SID}:${TOKEN}`).toString("base64") } });
  check(other.status === 404 && (await other.json()).code === 20404, "another account's path: 404 20404");
  const e = await expectError(client(TOKEN + "-wrong").messages.list(), 401, 20003, "a wrong auth token");
  check(e && e.message === "Authenticate", "401 message", e && e.message);
  const u = await expectError(c.calls.create({ to, from: FROM, url: "http://127.0.0.1/twiml" }), 501, null,
    "a route outside the subset (calls.create)");
  check(u && /Calls\.json/.test(u.message) && /POST/.test(u.message), "501 names the operation", u && u.message);
  const m = await c.messages.create({ to, from: FROM, body: "redact me" });
  const v = await expectError(c.messages(m.sid).update({ body: "" }), 501, null, "messages(sid).update");
  check(v && /POST \/2010-04-01\/Accounts\/\{AccountSid\}\/Messages\//.test(v.message), "501 names the update", v && v.message);
  await expectError(c.messages.create({ to, from: FROM, body: "x", mediaUrl: ["http://127.0.0.1/a.png"] }), 501,
    null, "MMS (MediaUrl)");
}

async function main() {
  if (!SID || !TOKEN || !BASE || !API_KEY) throw new Error("TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_API_BASE and MOCK_API_KEY are required");
  const rx = await receiver(204, querystring.parse);
  const c = client(TOKEN);
  try {
    await sendAndDeliver(c, rx);
    await undelivered(c, rx);
    await paging(c);
    await errors(c);
  } finally {
    rx.server.close();
  }
  finish(`twilio ${require("twilio/package.json").version}`);
}

main().catch((e) => {
  console.log(`FAIL: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});
