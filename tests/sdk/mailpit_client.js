// Mailpit's own Node client (npm mailpit-api) against sbx-mock-mail's /api/v1: run by
// mailpit_client.sh with MP_MODULE (the installed package), MP_URL, MP_KEY and MP_PDF (the
// attachment's bytes, base64) after it sent "Welcome" (with that attachment) and "Receipt".
"use strict";
const assert = require("node:assert/strict");
const { MailpitClient } = require(process.env.MP_MODULE);

async function main() {
  const mp = new MailpitClient(process.env.MP_URL, {
    fetchOptions: { headers: { Authorization: `Bearer ${process.env.MP_KEY}` } },
  });
  const list = await mp.listMessages();
  assert.equal(list.total, 2);
  assert.equal(list.messages_count, 2);
  assert.deepEqual(list.messages.map((m) => m.Subject), ["Receipt", "Welcome"]);
  assert.equal(list.messages[1].Attachments, 1);
  assert.equal(list.messages[1].From.Address, "shop@example.org");

  const found = await mp.searchMessages({ query: 'to:ann@example.org subject:"welcome"' });
  assert.equal(found.messages_count, 1);
  const id = found.messages[0].ID;
  const msg = await mp.waitForMessage({ query: "subject:Welcome" }, { timeout: 10000, interval: 50 });
  assert.equal(msg.ID, id);
  assert.match(msg.Text, /Hello Ann/);
  assert.equal(msg.Attachments.length, 1);
  assert.equal(msg.Attachments[0].FileName, "terms.pdf");
  const blob = await mp.getMessageAttachment(id, msg.Attachments[0].PartID);
  assert.equal(Buffer.from(await blob.arrayBuffer()).toString("base64"), process.env.MP_PDF);
  assert.match(await mp.getMessageSource(id), /^Date: /m);
  const headers = await mp.getMessageHeaders(id);
  assert.deepEqual(headers.Subject, ["Welcome"]);
  const latest = await mp.getMessageSummary();
  assert.equal(latest.Subject, "Receipt");
  assert.equal((await mp.listMessages(0, 1)).messages.length, 1);
  assert.equal((await mp.searchMessages({ query: "is:unread" })).messages_count, 0);

  await assert.rejects(mp.getInfo(), /501/);
  await assert.rejects(mp.searchMessages({ query: "tag:x" }), /501/);
  await assert.rejects(mp.searchMessages({ query: '"open' }), /400/);
  await assert.rejects(mp.getMessageSummary("msg_unknown"), /404/);

  assert.equal(await mp.deleteMessagesBySearch({ query: "subject:receipt" }), "ok");
  assert.equal((await mp.listMessages()).total, 1);
  assert.equal(await mp.deleteMessages({ IDs: [id] }), "ok");
  assert.equal((await mp.listMessages()).total, 0);
  const wait = await mp.waitForMessages({ count: 0 }, { timeout: 1000, interval: 50 });
  assert.equal(wait.messages_count, 0);
}

main().then(
  () => console.log("mailpit-api checks passed"),
  (e) => { console.error(e); process.exit(1); },
);
