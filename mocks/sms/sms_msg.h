/*
 * sms_msg — one SMS message as typed fields, moved through its statuses by the delivery
 * simulation and written as the compact JSON record the store keeps and POST answers with: the
 * text mock_json_dump gives for the tree the mock built before (same fields, same order), without
 * building or dumping a tree.
 */
#ifndef SBX_MOCK_SMS_MSG_H
#define SBX_MOCK_SMS_MSG_H

#include "sms_int.h"

#include <jansson.h>
#include <stddef.h>

/* Entries of a message's history: "queued" and the steps of the longest plan (two). */
#define SMS_MSG_HISTORY 4

struct sms_msg {
	char *id;
	/*
	 * The members that never change, written once: "to", "from", "body", "segments" and
	 * "status_callback" (fixed, from its leading comma on), and what follows "history" (extra:
	 * Twilio's fields, or NULL).
	 */
	char *fixed, *extra;
	size_t fixed_len, extra_len;
	const struct sms_step *step;  /* the current status, NULL: "queued" */
	char created_at[32], updated_at[32];
	struct {
		const char *status;   /* static text */
		char at[32];
	} history[SMS_MSG_HISTORY];
	size_t nhistory;
};

/*
 * A new message in status "queued", now, with a fresh "SM" id (from and cb may be NULL; the
 * strings are not kept). NULL when a string is not UTF-8 (as jansson refused it). Free with sms_msg_free.
 */
struct sms_msg *sms_msg_new(const char *to, const char *from, const char *body, const char *cb);
/* Free a message. NULL is a no-op. */
void sms_msg_free(struct sms_msg *m);
/*
 * Twilio's fields: replace the id by sid (stolen) and add "api":"twilio", "account_sid" (left out
 * when NULL or not UTF-8) and "messaging_service_sid" (null when mss is NULL; left out when not
 * UTF-8) after "history".
 */
void sms_msg_set_twilio(struct sms_msg *m, char *sid, const char *account_sid, const char *mss);
/* Move the message to st's status now: status, updated_at, error fields, one more history entry. */
void sms_msg_step(struct sms_msg *m, const struct sms_step *st);
/* The record as compact JSON (*len bytes, NUL-terminated); caller frees. */
char *sms_msg_text(const struct sms_msg *m, size_t *len);
/* The record as a tree (parsed from its text); caller decrefs. */
json_t *sms_msg_json(const struct sms_msg *m);

#endif
