/*
 * mail_api — the HTTP inspection API of the mail mock over its "messages" store:
 *   GET    /v1/messages?to=&from=&subject=&limit=&offset=  {"items": [summary], "total", ...}
 *   GET    /v1/messages/wait?to=&subject=&timeout=10s&after=ID  detail | 408 on timeout
 *   GET    /v1/messages/{id}                               detail (parts, attachments) | 404
 *   GET    /v1/messages/{id}/raw                           the message as received (message/rfc822)
 *   GET    /v1/messages/{id}/attachments/{index}           an attachment's decoded bytes
 *   DELETE /v1/messages[/{id}]                             {"deleted": n} | 204 | 404
 * Views are described in mail_msg.h. Unknown query keys are answered 400.
 */
#ifndef SBX_MAIL_API_H
#define SBX_MAIL_API_H

struct mock_server;
struct mock_store;

/* Register the routes on srv for the store st (which must outlive srv's handlers). */
void mail_api_register(struct mock_server *srv, struct mock_store *st);

#endif
