// The official stripe SDK (tests/sdk/package.json pins it) against sbx-mock-payment, as a checkout
// uses it: create and confirm, a decline, 3-D Secure, manual capture, cancel, refunds, lists with
// starting_after/ending_before, customers CRUD, Idempotency-Key replay and conflict, a wrong key,
// routes and a parameter outside the subset (501 naming the operation), refund and customer events,
// and every webhook verified with
// stripe.webhooks.constructEvent. Run by tests/mocks/sdk_stripe.sh: the driver starts its webhook
// receiver first and writes its port to RX_PORT_FILE, then waits for the mock's base URL in
// BASE_FILE (the mock's --webhook-url names the receiver). STRIPE_API_KEY, STRIPE_WEBHOOK_SECRET,
// MOCK_API_KEY (the inspection API's key, the same here). One line per failed check; exits 1 on one.
"use strict";
const fs = require("fs");
const path = require("path");
const Stripe = require("stripe");
const { check, finish, receiver, until, error } = require("./flow");

const KEY = process.env.STRIPE_API_KEY;
const WHSEC = process.env.STRIPE_WEBHOOK_SECRET;
let BASE;

// The client as the README tells application teams to build it: host, port, protocol from STRIPE_API_BASE.
function client(key) {
  const u = new URL(BASE);
  return new Stripe(key, { host: u.hostname, port: Number(u.port), protocol: u.protocol.replace(":", "") });
}

async function expectError(promise, type, status, code, what) {
  const e = await error(promise);
  check(e && e.type === type && e.statusCode === status && (code === undefined || e.code === code),
    `${what}: ${type} ${status} ${code || ""}`, e ? { type: e.type, status: e.statusCode, code: e.code, message: e.message } : "no error");
  return e;
}

// The events of the receiver about an object, in arrival order.
function eventsOf(rx, id) {
  return rx.got.map((g) => JSON.parse(g.raw)).filter((ev) => ev.data && ev.data.object && ev.data.object.id === id);
}

async function happyPath(s) {
  const pi = await s.paymentIntents.create({ amount: 2000, currency: "usd", payment_method_types: ["card"],
    metadata: { order: "A-17" }, description: "order A-17" });
  check(/^pi_[0-9a-z]{24}$/.test(pi.id) && pi.object === "payment_intent", "id pi_ and object", pi.id);
  check(pi.status === "requires_payment_method" && pi.amount === 2000 && pi.currency === "usd" && pi.livemode === false,
    "create: requires_payment_method", pi);
  check(Number.isInteger(pi.created) && Math.abs(pi.created - Date.now() / 1000) < 120, "created in Unix seconds", pi.created);
  check(pi.client_secret.startsWith(`${pi.id}_secret_`), "client_secret", pi.client_secret);
  check(pi.metadata.order === "A-17" && JSON.stringify(pi.payment_method_types) === '["card"]',
    "nested parameters: metadata[order], payment_method_types[]", pi);
  check(pi.created_at === undefined && pi.refunds === undefined, "no JSON-API fields in the Stripe object", Object.keys(pi));
  const c = await s.paymentIntents.confirm(pi.id, { payment_method: "pm_card_visa" });
  check(c.status === "succeeded" && c.amount_received === 2000 && c.payment_method === "pm_card_visa" &&
    /^ch_/.test(c.latest_charge), "confirm with pm_card_visa: succeeded", c);
  const r = await s.paymentIntents.retrieve(pi.id);
  check(r.status === "succeeded" && r.id === pi.id, "retrieve", r.status);
  const u = await s.paymentIntents.update(pi.id, { metadata: { order: "", shipped: "yes" }, description: "done" });
  check(u.metadata.order === undefined && u.metadata.shipped === "yes" && u.description === "done",
    "update: metadata merged ('' unsets)", u.metadata);
  await expectError(s.paymentIntents.confirm(pi.id, { payment_method: "pm_card_visa" }), "StripeInvalidRequestError",
    400, "payment_intent_unexpected_state", "confirming a succeeded intent");
  const e = await expectError(s.paymentIntents.create({ currency: "usd" }), "StripeInvalidRequestError", 400,
    "parameter_missing", "create without amount");
  check(e && e.param === "amount", "param names the missing parameter", e && e.param);
  await expectError(s.paymentIntents.retrieve("pi_doesnotexist"), "StripeInvalidRequestError", 404,
    "resource_missing", "retrieve an unknown intent");
  await expectError(s.paymentIntents.confirm(pi.id === "x" ? "" : (await s.paymentIntents.create({ amount: 100, currency: "usd" })).id,
    { payment_method: "pm_card_unknown" }), "StripeInvalidRequestError", 400, "resource_missing", "an unknown payment method");
  return pi;
}

async function decline(s) {
  const pi = await s.paymentIntents.create({ amount: 1500, currency: "eur" });
  const e = await expectError(s.paymentIntents.confirm(pi.id, { payment_method: "pm_card_chargeDeclined" }),
    "StripeCardError", 402, "card_declined", "pm_card_chargeDeclined");
  check(e && e.decline_code === "generic_decline" && e.message === "Your card was declined." &&
    /^https:\/\/stripe\.com\/docs\/error-codes\//.test(e.doc_url), "decline_code generic_decline, message, doc_url", e && e.raw);
  check(e && e.payment_intent && e.payment_intent.id === pi.id && e.payment_intent.status === "requires_payment_method",
    "the error carries the intent", e && e.payment_intent);
  const r = await s.paymentIntents.retrieve(pi.id);
  check(r.status === "requires_payment_method" && r.last_payment_error &&
    r.last_payment_error.decline_code === "generic_decline" && r.last_payment_error.type === "card_error",
    "last_payment_error", r.last_payment_error);
  const e2 = await expectError(s.paymentIntents.confirm(pi.id, { payment_method: "pm_card_chargeDeclinedInsufficientFunds" }),
    "StripeCardError", 402, "card_declined", "insufficient funds");
  check(e2 && e2.decline_code === "insufficient_funds", "decline_code insufficient_funds", e2 && e2.decline_code);
  const ok = await s.paymentIntents.confirm(pi.id, { payment_method: "pm_card_mastercard" });
  check(ok.status === "succeeded" && ok.last_payment_error === null, "a new card after a decline succeeds", ok.status);
  return pi;
}

async function threeDS(s) {
  const a = await s.paymentIntents.create({ amount: 3000, currency: "usd", payment_method: "pm_card_threeDSecure2Required",
    confirm: true, return_url: "https://shop.example/return" });
  check(a.status === "requires_action" && a.next_action && a.next_action.type === "redirect_to_url" &&
    a.next_action.redirect_to_url.return_url === "https://shop.example/return", "3DS: requires_action, redirect_to_url", a.next_action);
  const url = a.next_action && a.next_action.redirect_to_url.url;
  check(url && url.startsWith(`${BASE}/v1/payment_intents/${a.id}/_complete_3ds`), "the redirect URL is the mock's", url);
  const done = await fetch(url, { method: "POST" });
  check(done.status === 200 && (await done.json()).status === "succeeded", "completing 3-D Secure", done.status);
  check((await s.paymentIntents.retrieve(a.id)).status === "succeeded", "after 3-D Secure: succeeded");
  const b = await s.paymentIntents.create({ amount: 3100, currency: "usd" });
  const b1 = await s.paymentIntents.confirm(b.id, { payment_method: "pm_card_authenticationRequired" });
  check(b1.status === "requires_action" && b1.next_action.type === "use_stripe_sdk", "use_stripe_sdk without return_url", b1.next_action);
  const b2 = await s.rawRequest("POST", `/v1/payment_intents/${b.id}/_complete_3ds`, { outcome: "fail" });
  check(b2.status === "requires_payment_method" && b2.last_payment_error.code === "payment_intent_authentication_failure",
    "failing 3-D Secure", b2.last_payment_error);
  return [a, b];
}

async function capture(s) {
  const pi = await s.paymentIntents.create({ amount: 5000, currency: "usd", capture_method: "manual" });
  const c = await s.paymentIntents.confirm(pi.id, { payment_method: "pm_card_visa" });
  check(c.status === "requires_capture" && c.amount_capturable === 5000 && c.amount_received === 0,
    "manual capture: requires_capture", c);
  await expectError(s.paymentIntents.capture(pi.id, { amount_to_capture: 6000 }), "StripeInvalidRequestError", 400,
    "amount_too_large", "capture more than authorised");
  const d = await s.paymentIntents.capture(pi.id, { amount_to_capture: 4000 });
  check(d.status === "succeeded" && d.amount_received === 4000 && d.amount_capturable === 0, "capture 4000", d);
  const x = await s.paymentIntents.create({ amount: 700, currency: "usd" });
  const y = await s.paymentIntents.cancel(x.id, { cancellation_reason: "requested_by_customer" });
  check(y.status === "canceled" && y.cancellation_reason === "requested_by_customer" && Number.isInteger(y.canceled_at),
    "cancel", y);
  await expectError(s.paymentIntents.cancel(x.id), "StripeInvalidRequestError", 400, "payment_intent_unexpected_state",
    "cancel twice");
  return [pi, x];
}

async function refunds(s, pi) {
  const ch = (await s.paymentIntents.retrieve(pi.id)).latest_charge;
  const r = await s.refunds.create({ payment_intent: pi.id, amount: 1500, reason: "requested_by_customer",
    metadata: { ticket: "T-1" } });
  check(/^re_/.test(r.id) && r.object === "refund" && r.amount === 1500 && r.status === "succeeded" &&
    r.payment_intent === pi.id && r.currency === "usd" && r.metadata.ticket === "T-1", "refund create", r);
  check(/^ch_/.test(ch) && r.charge === ch, "the refund names the intent's charge", [r.charge, ch]);
  const g = await s.refunds.retrieve(r.id);
  check(g.id === r.id && g.amount === 1500, "refund retrieve", g);
  const r2 = await s.refunds.create({ payment_intent: pi.id });
  const l = await s.refunds.list({ payment_intent: pi.id });
  check(l.object === "list" && l.data.length === 2 && l.data[1].id === r.id && l.data[0].amount === 2000 - 1500 &&
    l.url === "/v1/refunds", "refund list: the rest refunded second", l);
  await expectError(s.refunds.create({ payment_intent: pi.id, amount: 1 }), "StripeInvalidRequestError", 400,
    "charge_already_refunded", "refund a fully refunded payment");
  return { r, r2, ch };
}

// The charge.refunded events of the two refunds: the Charge after each, and what each changed.
function chargeRefunded(rx, pi, ch) {
  const evs = eventsOf(rx, ch).filter((e) => e.type === "charge.refunded");
  const [a, b] = evs.map((e) => e.data.object);
  check(evs.length === 2 && a.object === "charge" && a.payment_intent === pi.id && a.amount === 2000 &&
    a.amount_captured === 2000 && a.currency === "usd" && a.captured === true && a.paid === true &&
    a.status === "succeeded" && a.payment_method === "pm_card_visa", "charge.refunded carries the Charge", a);
  check(a && a.amount_refunded === 1500 && a.refunded === false && b && b.amount_refunded === 2000 && b.refunded === true,
    "charge.refunded: amount_refunded and refunded after each refund", [a, b]);
  const [pa, pb] = evs.map((e) => e.data.previous_attributes);
  check(pa && pa.amount_refunded === 0 && pa.refunded === undefined && pb && pb.amount_refunded === 1500 &&
    pb.refunded === false, "charge.refunded: previous_attributes", [pa, pb]);
}

async function customersAndPaging(s) {
  const email = `buyer-${Date.now()}@example.com`;
  const cus = await s.customers.create({ email, name: "Ada Buyer", metadata: { tier: "gold" } });
  check(/^cus_/.test(cus.id) && cus.object === "customer" && cus.email === email && cus.metadata.tier === "gold" &&
    cus.livemode === false, "customer create", cus);
  check((await s.customers.retrieve(cus.id)).name === "Ada Buyer", "customer retrieve");
  const u = await s.customers.update(cus.id, { phone: "+15551234567", metadata: { tier: "" } });
  check(u.phone === "+15551234567" && u.metadata.tier === undefined, "customer update", u);
  const found = await s.customers.list({ email });
  check(found.data.length === 1 && found.data[0].id === cus.id, "customer list by email", found.data.length);
  const ids = [];
  for (let i = 0; i < 5; i++)
    ids.push((await s.paymentIntents.create({ amount: 100 + i, currency: "usd", customer: cus.id })).id);
  const newest = [...ids].reverse();
  const p1 = await s.paymentIntents.list({ customer: cus.id, limit: 2 });
  check(p1.has_more === true && JSON.stringify(p1.data.map((p) => p.id)) === JSON.stringify(newest.slice(0, 2)),
    "list page 1 (newest first)", p1.data.map((p) => p.id));
  const p2 = await s.paymentIntents.list({ customer: cus.id, limit: 2, starting_after: p1.data[1].id });
  const p3 = await s.paymentIntents.list({ customer: cus.id, limit: 2, starting_after: p2.data[1].id });
  check(JSON.stringify(p2.data.map((p) => p.id)) === JSON.stringify(newest.slice(2, 4)) && p2.has_more === true &&
    p3.data.length === 1 && p3.has_more === false, "starting_after pages", [p2.data.length, p3.data.length]);
  const back = await s.paymentIntents.list({ customer: cus.id, limit: 2, ending_before: p3.data[0].id });
  check(JSON.stringify(back.data.map((p) => p.id)) === JSON.stringify(newest.slice(2, 4)) && back.has_more === true,
    "ending_before", back.data.map((p) => p.id));
  const all = await s.paymentIntents.list({ customer: cus.id, limit: 2 }).autoPagingToArray({ limit: 100 });
  check(JSON.stringify(all.map((p) => p.id)) === JSON.stringify(newest), "autoPagingToArray follows has_more", all.length);
  const d = await s.customers.del(cus.id);
  check(d.deleted === true && d.id === cus.id && d.object === "customer", "customer delete", d);
  const gone = await s.customers.retrieve(cus.id);
  check(gone.deleted === true && gone.id === cus.id && gone.object === "customer" && gone.email === undefined,
    "retrieve a deleted customer: {id, object, deleted: true}", gone);
  check((await s.customers.list({ email })).data.length === 0, "a deleted customer is not listed");
  await expectError(s.customers.update(cus.id, { name: "x" }), "StripeInvalidRequestError", 404, "resource_missing",
    "update a deleted customer");
  await expectError(s.customers.del(cus.id), "StripeInvalidRequestError", 404, "resource_missing",
    "delete a deleted customer");
  const e = await expectError(s.paymentIntents.create({ amount: 100, currency: "usd", customer: cus.id }),
    "StripeInvalidRequestError", 400, "resource_missing", "an intent for a deleted customer");
  check(e && e.param === "customer", "param customer", e && e.param);
  return cus;
}

// customer.created, .updated (previous_attributes: what the update changed) and .deleted (the customer as it was).
function customerEvents(rx, cus) {
  const evs = eventsOf(rx, cus.id);
  const up = evs.find((e) => e.type === "customer.updated"), del = evs.find((e) => e.type === "customer.deleted");
  const prev = up && up.data.previous_attributes;
  check(prev && prev.phone === null && prev.metadata && prev.metadata.tier === "gold" && prev.name === undefined &&
    up.data.object.phone === "+15551234567", "customer.updated: previous_attributes", up && up.data);
  check(del && del.data.object.email === cus.email && del.data.object.deleted === undefined,
    "customer.deleted carries the customer as it was", del && del.data);
}

async function idempotency(s) {
  const key = `order-${Date.now()}`;
  const a = await s.paymentIntents.create({ amount: 999, currency: "usd" }, { idempotencyKey: key });
  const b = await s.paymentIntents.create({ amount: 999, currency: "usd" }, { idempotencyKey: key });
  check(a.id === b.id, "the same key and parameters replay the first answer", [a.id, b.id]);
  check(b.lastResponse && b.lastResponse.headers["idempotent-replayed"] === "true", "Idempotent-Replayed: true",
    b.lastResponse && b.lastResponse.headers);
  const e = await expectError(s.paymentIntents.create({ amount: 1000, currency: "usd" }, { idempotencyKey: key }),
    "StripeIdempotencyError", 400, undefined, "the same key with other parameters");
  check(e && e.message.includes(key), "idempotency_error message", e && e.message);
}

// A call outside the subset: 501 api_error sbx_unsupported naming the operation, Stripe-Should-Retry: false.
async function expect501(promise, op, what) {
  const e = await expectError(promise, "StripeAPIError", 501, "sbx_unsupported", what);
  check(e && e.message.startsWith(`sbx-mock-payment does not implement ${op}: `) && e.raw && e.raw.type === "api_error" &&
    e.headers && e.headers["stripe-should-retry"] === "false" && /^req_/.test(e.requestId),
    `${what}: 501 names ${op}`, e && { message: e.message, headers: e.headers });
  return e;
}

async function unsupported(s) {
  const e = await expectError(s.charges.list(), "StripeAPIError", 501, "sbx_unsupported", "charges.list");
  check(e && /GET \/v1\/charges/.test(e.message), "501 names the operation", e && e.message);
  await expect501(s.charges.create({ amount: 500, currency: "usd", source: "tok_visa" }), "POST /v1/charges",
    "charges.create");
  await expect501(s.charges.retrieve("ch_3Mock0000000000000000"), "GET /v1/charges/{id}", "charges.retrieve");
  await expect501(s.checkout.sessions.create({ mode: "payment", success_url: "https://shop.example/ok",
    line_items: [{ price_data: { currency: "usd", unit_amount: 500, product_data: { name: "T-shirt" } }, quantity: 1 }] }),
  "POST /v1/checkout/sessions", "checkout.sessions.create");
  await expect501(s.paymentMethods.create({ type: "card", card: { token: "tok_visa" } }), "POST /v1/payment_methods",
    "paymentMethods.create");
  const cus = await s.customers.create({ email: "sources@example.com" });
  await expect501(s.customers.createSource(cus.id, { source: "tok_visa" }), "POST /v1/customers/{id}/sources",
    "customers.createSource");
  await expect501(s.customers.search({ query: "email:'sources@example.com'" }), "GET /v1/customers/search",
    "customers.search");
  await expect501(s.paymentIntents.search({ query: "status:'succeeded'" }), "GET /v1/payment_intents/search",
    "paymentIntents.search");
  await expect501(s.rawRequest("GET", "/v1/sbx_no_such_route"), "GET /v1/sbx_no_such_route", "an unknown route under /v1");
  const pi = await s.paymentIntents.create({ amount: 100, currency: "usd" });
  const a = await expectError(s.paymentIntents.applyCustomerBalance(pi.id), "StripeAPIError", 501, "sbx_unsupported",
    "paymentIntents.applyCustomerBalance");
  check(a && a.message.includes("POST /v1/payment_intents/{id}/apply_customer_balance"), "501 names it by its route",
    a && a.message);
  const m = await expectError(s.paymentMethods.list({ type: "card" }), "StripeAPIError", 501, "sbx_unsupported",
    "paymentMethods.list");
  check(m && m.message.includes("GET /v1/payment_methods:"), "501 names payment_methods", m && m.message);
  const p = await expectError(s.paymentIntents.create({ amount: 100, currency: "usd", statement_descriptor: "SHOP" }),
    "StripeAPIError", 501, "sbx_unsupported", "an unsupported parameter");
  check(p && /statement_descriptor/.test(p.message) && /POST \/v1\/payment_intents/.test(p.message),
    "501 names the parameter", p && p.message);
  const w = await expectError(client("sk_test_" + "x".repeat(20) + "WXYZ").paymentIntents.list(),
    "StripeAuthenticationError", 401, undefined, "a wrong key");
  check(w && /^Invalid API Key provided: sk_test_\*+WXYZ$/.test(w.message) && !w.message.includes("x".repeat(20)),
    "401 masks the key", w && w.message);
}

async function jsonApiStillThere() {
  const h = { Authorization: `Bearer ${process.env.MOCK_API_KEY}`, "Content-Type": "application/json" };
  const r = await fetch(`${BASE}/v1/payment_intents`, { method: "POST", headers: h,
    body: JSON.stringify({ amount: 1200, currency: "usd" }) });
  const pi = await r.json();
  check(r.status === 200 && pi.created_at && pi.status === "requires_payment_method", "the JSON API creates", pi);
  const c = await fetch(`${BASE}/v1/payment_intents/${pi.id}/confirm`, { method: "POST", headers: h,
    body: JSON.stringify({ card: "4242424242424242" }) });
  check(c.status === 200 && (await c.json()).status === "succeeded", "the JSON API confirms with a card number");
  const w = await fetch(`${BASE}/v1/payment_intents/wait?id=${pi.id}&status=succeeded&timeout=10s`, { headers: h });
  check(w.status === 200, "the inspection API's wait", w.status);
}

// Every Stripe webhook: the expected types per intent, each accepted by constructEvent, tampering refused.
async function webhooks(s, rx, want) {
  const total = Object.values(want).reduce((n, t) => n + t.length, 0);
  const ok = await until(() => Object.entries(want).every(([id, types]) => eventsOf(rx, id).length >= types.length), 20000);
  check(ok, `the ${total} expected events arrive`);
  for (const [id, types] of Object.entries(want)) {
    const got = eventsOf(rx, id).map((e) => e.type);
    check(JSON.stringify(got) === JSON.stringify(types), `events of ${id}`, got);
  }
  const stripeHooks = rx.got.filter((g) => g.headers["stripe-signature"]);
  check(stripeHooks.length >= total, "Stripe-Signature on the Stripe API's events", stripeHooks.length);
  for (const g of stripeHooks) {
    let ev = null;
    try {
      ev = s.webhooks.constructEvent(g.raw, g.headers["stripe-signature"], WHSEC);
    } catch (e) {
      check(false, "constructEvent accepts the event", e.message);
      continue;
    }
    check(/^evt_/.test(ev.id) && ev.object === "event" && ev.livemode === false && Number.isInteger(ev.created) &&
      ev.api_version, `event ${ev.type} shape`, ev);
    check(g.headers["content-type"] === "application/json", "events are JSON", g.headers["content-type"]);
    let refused = false;
    try {
      s.webhooks.constructEvent(g.raw.replace('"livemode":false', '"livemode":true'), g.headers["stripe-signature"], WHSEC);
    } catch (e) {
      refused = e.type === "StripeSignatureVerificationError";
    }
    check(refused, "constructEvent refuses a tampered payload");
    refused = false;
    try {
      s.webhooks.constructEvent(g.raw, g.headers["stripe-signature"], WHSEC + "x");
    } catch (e) {
      refused = true;
    }
    check(refused, "constructEvent refuses another secret");
  }
}

async function main() {
  if (!KEY || !WHSEC || !process.env.RX_PORT_FILE || !process.env.BASE_FILE)
    throw new Error("STRIPE_API_KEY, STRIPE_WEBHOOK_SECRET, RX_PORT_FILE and BASE_FILE are required");
  const rx = await receiver(200);
  fs.writeFileSync(process.env.RX_PORT_FILE + ".tmp", `${rx.port}\n`);
  fs.renameSync(process.env.RX_PORT_FILE + ".tmp", process.env.RX_PORT_FILE);
  check(await until(() => fs.existsSync(process.env.BASE_FILE), 30000), "the mock starts");
  BASE = fs.readFileSync(process.env.BASE_FILE, "utf8").trim();
  const s = client(KEY);
  try {
    const pi = await happyPath(s);
    const dec = await decline(s);
    const [a, b] = await threeDS(s);
    const [cap, can] = await capture(s);
    const re = await refunds(s, pi);
    const cus = await customersAndPaging(s);
    await idempotency(s);
    await unsupported(s);
    await jsonApiStillThere();
    const created = "payment_intent.created", ok = "payment_intent.succeeded", failed = "payment_intent.payment_failed";
    await webhooks(s, rx, {
      [pi.id]: [created, ok],
      [dec.id]: [created, failed, failed, ok],
      [a.id]: [created, "payment_intent.requires_action", ok],
      [b.id]: [created, "payment_intent.requires_action", failed],
      [cap.id]: [created, "payment_intent.amount_capturable_updated", ok],
      [can.id]: [created, "payment_intent.canceled"],
      [re.r.id]: ["refund.created"],
      [re.r2.id]: ["refund.created"],
      [re.ch]: ["charge.refunded", "charge.refunded"],
      [cus.id]: ["customer.created", "customer.updated", "customer.deleted"],
    });
    chargeRefunded(rx, pi, re.ch);
    customerEvents(rx, cus);
  } finally {
    rx.server.close();
  }
  finish(`stripe ${JSON.parse(fs.readFileSync(path.join(__dirname, "node_modules/stripe/package.json"))).version}`);
}

main().catch((e) => {
  console.log(`FAIL: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});
