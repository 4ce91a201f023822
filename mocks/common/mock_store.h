/*
 * mock_store — named collections of JSON object records, each with a unique string "id", in
 * insertion order (a sequence number), in memory as compact JSON text (parsed when read, so that
 * 10,000 records cost megabytes, not tens of them) and written through to SQLite (mock_db) with
 * --data, reloaded at start. Lists return newest first. Filters, paging, caps in records and in
 * bytes (oldest evicted, counted) and long-poll waiters. Thread-safe.
 *
 * A filter is a list of key=value pairs (usually the query string minus paging keys). The match
 * function decides whether a record matches; the default (mock_store_match_fields) compares each
 * filter key with the record's top-level field of the same name: equal to a string or number, or
 * equal to any element of an array. Keys the record does not have never match.
 */
#ifndef SBX_MOCK_STORE_H
#define SBX_MOCK_STORE_H

#include "mock_kv.h"
#include "mock_util.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mock_resp;
struct mock_wait;

/* A match function must accept every record for an empty filter (a list then reads only its page). */
typedef bool (*mock_match_fn)(const json_t *rec, const struct mock_kvlist *filter, void *arg);
/* The default match function (see above; arg unused). */
bool mock_store_match_fields(const json_t *rec, const struct mock_kvlist *filter, void *arg);

struct mock_db;
/* Open the SQLite file (created when missing), or an in-memory-only database when path is NULL. */
struct mock_db *mock_db_open(const char *path, struct mock_err *e);
/* Close a database (after freeing its stores). NULL is a no-op. */
void mock_db_close(struct mock_db *db);

struct mock_store;
/* A collection named `name` in db, holding at most max_records (0 = unlimited; oldest evicted). */
struct mock_store *mock_store_new(struct mock_db *db, const char *name, size_t max_records,
				  struct mock_err *e);
/* Free a collection (its records stay in the database). NULL is a no-op. */
void mock_store_free(struct mock_store *s);
/* The collection's name. */
const char *mock_store_name(const struct mock_store *s);
/* Replace the match function (arg is passed back). */
void mock_store_set_match(struct mock_store *s, mock_match_fn fn, void *arg);
/* Insert rec, or replace the record with the same "id" (keeping its place). Steals rec. 0 / -1. */
int mock_store_put(struct mock_store *s, json_t *rec);
/*
 * mock_store_put, answering resp with status and the record as compact JSON (then "\n") from the
 * one serialization the store keeps.
 */
int mock_store_put_answer(struct mock_store *s, json_t *rec, struct mock_resp *resp, int status);
/*
 * Insert or replace the record `id` given as its compact JSON text doc (len bytes, an object whose
 * "id" is id; steals doc): kept as text, parsed only when read (no tree is built). With resp, also
 * answer it with status and the text (then "\n"). 0, or -1 when id is NULL or empty (doc freed).
 */
int mock_store_put_text(struct mock_store *s, const char *id, char *doc, size_t len,
			struct mock_resp *resp, int status);
/* A copy of the record with this id, or NULL. Caller decrefs. */
json_t *mock_store_get(struct mock_store *s, const char *id);
/*
 * Update a record in place under the store's lock: fn gets the record (mutable) and returns 0 to
 * keep the change (written through, waiters woken) or -1 to leave it unchanged (fn must then not
 * have modified it). Returns fn's result, or -1 when the id is unknown (fn not called).
 */
int mock_store_update(struct mock_store *s, const char *id, int (*fn)(json_t *rec, void *arg),
		      void *arg);
/*
 * Replace the records ids[i] by the texts docs[i] (lens[i] bytes, compact JSON objects; stolen)
 * under one acquisition of the lock, written through and waiters woken as by an update; rcs[i]
 * is 0, or -1 when the id is unknown (deleted or evicted: the text is freed).
 */
void mock_store_replace_each(struct mock_store *s, size_t n, const char *const *ids, char **docs,
			     const size_t *lens, int *rcs);
/* Delete one record: 0, or -1 when absent. */
int mock_store_del(struct mock_store *s, const char *id);
/* Delete every record; returns how many. */
size_t mock_store_clear(struct mock_store *s);
/* How many records the collection holds. */
size_t mock_store_count(struct mock_store *s);
/*
 * Matching records (copies), newest first, after skipping `offset`; *total = all matches. With an
 * empty filter only the records of the page are parsed.
 */
json_t *mock_store_list(struct mock_store *s, const struct mock_kvlist *filter, size_t offset,
			size_t limit, size_t *total);
/*
 * Tags: a few bits per record that a tag function computes from it when it is put, updated or
 * replaced (records put or replaced as text are parsed once for it), kept beside it so that counts
 * need no parsing. NULL (the default): every record's tags are 0.
 */
typedef uint32_t (*mock_tag_fn)(const json_t *rec);
/* Set the tag function (once, at start, before other threads use the store); tags held records. */
void mock_store_set_tag(struct mock_store *s, mock_tag_fn fn);
/*
 * mock_store_list, also counting in *tagged the matches whose tags have a bit of mask, in the same
 * pass (with an empty filter and limit 0: total and tagged counts without parsing any record).
 */
json_t *mock_store_list_tagged(struct mock_store *s, const struct mock_kvlist *filter,
			       size_t offset, size_t limit, uint32_t mask, size_t *total,
			       size_t *tagged);
/*
 * An index: a small JSON object an index function computes from each record when it is put,
 * updated or replaced (in the same parse as the tags), kept beside it as compact text, and a
 * function deciding a filter from it alone: 1 the record matches, 0 it does not, -1 the record is
 * needed (it is then parsed and the match function decides). Lists and waits with a filter parse
 * the small index of every record instead of every record. The index is not part of the record
 * (not answered, not counted by --max-store-bytes). NULL (the default): no index.
 */
typedef json_t *(*mock_index_fn)(const json_t *rec);
typedef int (*mock_index_match_fn)(const json_t *index, const struct mock_kvlist *filter,
				   void *arg);
/* Set the index functions (once, at start, like the tag function); indexes held records. */
void mock_store_set_index(struct mock_store *s, mock_index_fn fn, mock_index_match_fn match);
/*
 * Long-poll: the newest matching record whose sequence number is > after_seq (0 = any), waiting
 * up to timeout_ms for one to be put. Returns a copy or NULL on timeout/shutdown.
 */
json_t *mock_store_wait(struct mock_store *s, const struct mock_kvlist *filter, uint64_t after_seq,
			int64_t timeout_ms);

/*
 * A long-poll that does not block, for handlers: mock_resp_wait makes resp a wait for the newest
 * record matching filter with a sequence number > after_seq (0 = any), for up to timeout_ms. The
 * pipeline then finishes it (mock_server_handle blocks in mock_wait_block; the HTTP layer parks
 * the connection and calls mock_wait_watch) and calls fn(resp, rec, timeout_ms, arg) with the
 * record (a borrowed copy) or NULL after the timeout or at shutdown; fn writes the answer.
 * Takes the pairs of filter (left empty).
 */
typedef void (*mock_wait_fn)(struct mock_resp *resp, const json_t *rec, int64_t timeout_ms,
			     void *arg);
void mock_resp_wait(struct mock_resp *resp, struct mock_store *s, struct mock_kvlist *filter,
		    uint64_t after_seq, int64_t timeout_ms, mock_wait_fn fn, void *arg);
/* The wait's timeout (ms). */
int64_t mock_wait_timeout(const struct mock_wait *w);
/* Wait for resp->wait's record, blocking the calling thread; returns it (caller decrefs) or NULL. */
json_t *mock_wait_block(struct mock_wait *w);
/*
 * Watch without blocking: 1 with *rec (caller decrefs) when a record matches already; -1 after
 * shutdown; 0 when registered: then wake(arg, rec) is called exactly once, from the thread that
 * stores the record (rec a copy the callee owns) or shuts the store down (rec NULL), with the
 * store's lock held (wake must be short and must not call the store) — unless mock_wait_unwatch
 * came first.
 */
int mock_wait_watch(struct mock_wait *w, void (*wake)(void *arg, json_t *rec), void *arg,
		    json_t **rec);
/* Stop watching (a no-op when wake has been called or nothing was watched). */
void mock_wait_unwatch(struct mock_wait *w);
/* Detach resp->wait and call its fn with rec (borrowed; NULL: timed out); frees the wait. */
void mock_wait_finish(struct mock_resp *resp, const json_t *rec);
/* Free a wait (unwatching it first). NULL is a no-op. */
void mock_wait_free(struct mock_wait *w);

/* The sequence number of a record (0 when unknown) — for "after" cursors. */
uint64_t mock_store_seq(struct mock_store *s, const char *id);
/*
 * Also bound the collection in bytes (about its records as compact JSON; 0 = unbounded): a put past
 * either bound evicts the oldest records, never the one just put.
 */
void mock_store_set_max_bytes(struct mock_store *s, size_t max_bytes);
/*
 * Keep the newest records in memory as trees (quick to update) while the oldest of them changed
 * less than ms ago (default 100), past the 1,024 newest and up to 2,048; older ones are kept as
 * their text. 0: only the 1,024 newest. Not visible to clients; tests use it to reach the text.
 */
void mock_store_set_hot_ms(struct mock_store *s, int64_t ms);
/* How many records the bounds have evicted since the collection was opened. */
uint64_t mock_store_evictions(struct mock_store *s);
/* How many long-polls are waiting now (blocked or watching). */
size_t mock_store_waiters(struct mock_store *s);
/* Wake every waiter and make further waits return at once (shutdown). */
void mock_store_shutdown(struct mock_store *s);

#endif
