/*
 * sms_int — what the SMS mock's two APIs share inside the mock: its JSON API (sms.c) and its
 * Twilio Messages API (twilio.c) store messages in one collection and move them through the
 * same delivery simulation; each API formats its own status callbacks.
 */
#ifndef SBX_MOCK_SMS_INT_H
#define SBX_MOCK_SMS_INT_H

#include "mock_target.h"
#include "sms.h"

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mock_resp;

struct twilio;

struct transition;
struct sms_msg;

struct sms {
	struct mock_server *srv;
	struct mock_store *messages;
	struct mock_target callback; /* --callback-url, checked at start (url NULL: none) */
	int64_t delay_ms;
	struct twilio *twilio;
	/*
	 * The pending status changes, in due order (they all wait delay_ms): one scheduler job at a
	 * time (armed) runs every due one, their store updates a batch under one lock.
	 */
	pthread_mutex_t qlock;
	struct transition *qhead, *qtail;
	bool armed;
};

/* One step of a message's life: the status it moves to and why it failed. */
struct sms_step {
	const char *status;
	const char *error_code;    /* the JSON API's code ("unreachable"), or NULL */
	const char *error_message;
	int code;                  /* Twilio's numeric error code (30003), or 0: error_code is used */
};

/* The plan of a message that is delivered: sent, then delivered. */
extern const struct sms_step sms_plan_ok[];

/*
 * How a message's own status callback goes out: called with the record at each status (queued
 * included), its checked target, and the key to sign with (NULL: none). Runs on the scheduler
 * thread (or the request's, for "queued").
 */
typedef void (*sms_notify_fn)(struct sms *s, const json_t *msg, const struct mock_target *own,
			      const char *key);

/*
 * Announce (--callback-url; own through notify, or as JSON when notify is NULL), store and
 * schedule a new message along plan (a static table ending with a NULL status; at most two
 * steps). Steals m and *own (cleared); key is copied. With resp, also answer it 201 with the record
 * (one text for the store and the answer).
 */
void sms_accept(struct sms *s, struct sms_msg *m, const struct sms_step *plan, struct mock_target *own,
		sms_notify_fn notify, const char *key, struct mock_resp *resp);
/* Check and pin a status callback URL from a request: 0 (own->url NULL when cb is NULL), or -1 with e. */
int sms_callback_check(struct sms *s, const char *cb, struct mock_target *own, struct mock_err *e);
/* Whether s is an alphanumeric sender id: 1-11 of [A-Za-z0-9 ], at least one letter. */
bool sms_valid_sender_id(const char *s);
/* The number of UTF-8 code points of s. */
size_t sms_utf8_len(const char *s);

#endif
