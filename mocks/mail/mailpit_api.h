/*
 * mailpit_api — the part of Mailpit's HTTP API (/api/v1, axllent/mailpit server/apiv1) that test
 * helpers use to inspect mail, over the mail mock's "messages" store, next to mail_api:
 *   GET    /api/v1/messages?start=&limit=       MessagesSummary, newest first
 *   DELETE /api/v1/messages  [{"IDs": [...]}]   "ok" (all messages without IDs)
 *   GET    /api/v1/search?query=&start=&limit=  MessagesSummary of the matches
 *   DELETE /api/v1/search?query=                "ok"
 *   GET    /api/v1/message/{ID}                 Message (marks it read)
 *   GET    /api/v1/message/{ID}/raw             the source (text/plain)
 *   GET    /api/v1/message/{ID}/headers         {"Name": [values]}
 *   GET    /api/v1/message/{ID}/part/{PartID}   an attachment's bytes
 * {ID} "latest" is the newest message (the newest match of ?query= when given). Shapes:
 * mailpit_msg.h; search terms: mailpit_query.h. Any other /api/v1/ request answers 501 naming
 * it; malformed parameters 400; unknown IDs 404. Same API key as the rest of the mock. Query
 * strings are read as Mailpit's Go server reads them: '+' is a space (what URLSearchParams sends).
 */
#ifndef SBX_MAILPIT_API_H
#define SBX_MAILPIT_API_H

struct mock_server;
struct mock_store;

/* Register the routes (last: they end with the /api/v1/ catch-all) for the store st. */
void mailpit_api_register(struct mock_server *srv, struct mock_store *st);

#endif
