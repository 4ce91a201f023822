/* mock_store — collections of JSON records in memory, written through to SQLite, with waiters. */
#include "mock_store.h"

#include "clock.h"
#include "mock_kv.h"
#include "mock_log.h"
#include "mock_req.h"
#include "mock_util.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct mock_db {
	sqlite3 *sql; /* NULL: memory only */
	pthread_mutex_t lock;
};

struct node {
	struct node *prev, *next; /* insertion order */
	struct node *hnext;       /* hash chain */
	size_t hash;              /* of id (hash_id) */
	uint64_t seq;
	/*
	 * The record: a tree while it is among the newest (rec; see STORE_HOT), then compact JSON
	 * text parsed only when read (doc; rec NULL): a tree costs several times the text, and the
	 * newest records are the ones updated (an SMS changes status twice within 40 ms). A tree
	 * may keep its text too (doc: what a put answered with; NULL after a put without text or an
	 * update), so that turning it into text only frees the tree; a record put or replaced as text
	 * (mock_store_put_text, mock_store_replace_each) never has a tree.
	 */
	json_t *rec;
	char *doc;
	size_t bytes;    /* of the record as compact JSON (exact with doc; about, for a tree: rec_bytes) */
	int64_t changed; /* monotonic ms of the last put or update */
	bool hot;        /* from s->hot on: a tree, or text when put or replaced as text */
	uint32_t tags;   /* what the store's tag function said of the record (see mock_store_set_tag) */
	char *ixdoc;     /* the index function's object as compact text (ixlen bytes), or NULL */
	size_t ixlen;
	char id[];       /* in the node's allocation: one allocation and one cache miss less per find */
};

/*
 * How many of the newest records a collection keeps as trees: STORE_HOT, and more while the oldest
 * tree changed less than hot_ms ago (default STORE_HOT_MS), up to STORE_HOT_MAX. The age keeps the
 * records a busy mock is still updating as trees (512 SMS last 35 ms at 15,000 a second, and the
 * thread moving them to "delivered" can lag behind); the count bounds the memory.
 */
#define STORE_HOT 512
#define STORE_HOT_MAX 1024
#define STORE_HOT_MS 100
/*
 * Every this many records freed (trees turned into text, texts replaced, records evicted), hand
 * the freed memory back to the system (malloc_trim): their small blocks are freed in the middle of
 * the heap, where malloc keeps them otherwise.
 */
#define STORE_TRIM_EVERY 2048

/* A long-poll a handler handed back (mock_resp_wait); linked into its store while watching. */
struct mock_wait {
	struct mock_store *st;
	struct mock_kvlist filter;
	uint64_t after;
	int64_t timeout_ms;
	mock_wait_fn fn;
	void *arg;
	void (*wake)(void *arg, json_t *rec); /* while watching */
	void *wake_arg;
	bool linked;
	struct mock_wait *prev, *next;
};

struct mock_store {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct mock_db *db;
	char *name;
	size_t max;
	size_t max_bytes;  /* 0: unbounded */
	size_t bytes;      /* of every record */
	uint64_t evicted;
	uint64_t compacted; /* records whose memory was freed: trees made text, texts replaced, evictions */
	int64_t hot_ms;     /* how long a changed record stays a tree past STORE_HOT */
	struct node *head, *tail;
	size_t n;
	struct node *hot;  /* the oldest node put as a tree (the trees are in this suffix of the list) */
	size_t nhot;       /* nodes from hot on */
	struct node **buckets;
	size_t nbuckets;
	uint64_t last_seq;
	size_t waiters;           /* blocked in mock_store_wait */
	struct mock_wait *watches; /* non-blocking waits (mock_wait_watch) */
	size_t nwatches;
	bool shutdown;
	mock_match_fn match;
	void *match_arg;
	mock_tag_fn tag; /* NULL: every node's tags are 0 */
	mock_index_fn index; /* NULL: no node has an index */
	mock_index_match_fn index_match;
};

static const char schema[] =
	"PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
	"CREATE TABLE IF NOT EXISTS records(coll TEXT NOT NULL, id TEXT NOT NULL,"
	" seq INTEGER NOT NULL, doc TEXT NOT NULL, PRIMARY KEY(coll, id));";

/* Open the database. */
struct mock_db *mock_db_open(const char *path, struct mock_err *e)
{
	struct mock_db *db = mock_xcalloc(1, sizeof(*db));
	char *msg = NULL;

	pthread_mutex_init(&db->lock, NULL);
	if (!path)
		return db;
	if (sqlite3_open_v2(path, &db->sql, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
						 SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK ||
	    sqlite3_exec(db->sql, schema, NULL, NULL, &msg) != SQLITE_OK) {
		mock_err_set(e, "%s: %s", path, msg ? msg : sqlite3_errmsg(db->sql));
		sqlite3_free(msg);
		mock_db_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db->sql, 5000);
	return db;
}

/* Close the database. */
void mock_db_close(struct mock_db *db)
{
	if (!db)
		return;
	sqlite3_close(db->sql);
	pthread_mutex_destroy(&db->lock);
	free(db);
}

/* Run one statement with text/int binds ("s" / "i" per bind); logs failures. */
static void db_exec(struct mock_db *db, const char *sql, const char *types, ...)
{
	sqlite3_stmt *st = NULL;
	va_list ap;

	if (!db->sql)
		return;
	pthread_mutex_lock(&db->lock);
	if (sqlite3_prepare_v2(db->sql, sql, -1, &st, NULL) != SQLITE_OK)
		goto out;
	va_start(ap, types);
	for (int i = 0; types[i]; i++) {
		if (types[i] == 's')
			sqlite3_bind_text(st, i + 1, va_arg(ap, const char *), -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_int64(st, i + 1, (sqlite3_int64)va_arg(ap, uint64_t));
	}
	va_end(ap);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto out;
	sqlite3_finalize(st);
	pthread_mutex_unlock(&db->lock);
	return;
out:
	mock_log("error", "sqlite: %s", sqlite3_errmsg(db->sql));
	sqlite3_finalize(st);
	pthread_mutex_unlock(&db->lock);
}

/* Write a node through. */
static void db_save(struct mock_store *s, struct node *n)
{
	char *doc;

	if (!s->db->sql)
		return;
	doc = n->doc ? NULL : mock_json_dump(n->rec);
	db_exec(s->db, "INSERT OR REPLACE INTO records(coll, id, seq, doc) VALUES(?, ?, ?, ?)", "ssis",
		s->name, n->id, n->seq, doc ? doc : n->doc);
	free(doc);
}

/* FNV-1a hash of an id. */
static size_t hash_id(const char *id)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *id; id++)
		h = (h ^ (unsigned char)*id) * 1099511628211ULL;
	return (size_t)h;
}

/* Find a node by id (lock held). */
static struct node *find(struct mock_store *s, const char *id)
{
	size_t h = hash_id(id);
	struct node *n = s->buckets[h & (s->nbuckets - 1)];

	while (n && (n->hash != h || strcmp(n->id, id) != 0))
		n = n->hnext;
	return n;
}

/* Double the hash table (lock held). */
static void rehash(struct mock_store *s)
{
	size_t nb = s->nbuckets * 2;
	struct node **b = mock_xcalloc(nb, sizeof(*b));

	for (struct node *n = s->head; n; n = n->next) {
		size_t h = n->hash & (nb - 1);
		n->hnext = b[h];
		b[h] = n;
	}
	free(s->buckets);
	s->buckets = b;
	s->nbuckets = nb;
}

/* Link a new node at the tail and into the hash (lock held). */
static void link_node(struct mock_store *s, struct node *n)
{
	size_t h;

	if (s->n + 1 > s->nbuckets * 2)
		rehash(s);
	h = n->hash & (s->nbuckets - 1);
	n->hnext = s->buckets[h];
	s->buckets[h] = n;
	n->prev = s->tail;
	n->next = NULL;
	if (s->tail)
		s->tail->next = n;
	else
		s->head = n;
	s->tail = n;
	s->n++;
	s->bytes += n->bytes;
	if (!n->rec)
		return;
	n->hot = true;
	if (!s->hot)
		s->hot = n;
	s->nhot++;
}

/* Unlink a node (lock held); also delete it from the database when persist. */
static void unlink_node(struct mock_store *s, struct node *n, bool persist)
{
	struct node **pp = &s->buckets[n->hash & (s->nbuckets - 1)];

	while (*pp != n)
		pp = &(*pp)->hnext;
	*pp = n->hnext;
	if (n->prev)
		n->prev->next = n->next;
	else
		s->head = n->next;
	if (n->next)
		n->next->prev = n->prev;
	else
		s->tail = n->prev;
	s->n--;
	s->bytes -= n->bytes;
	if (n->hot) {
		s->nhot--;
		if (s->hot == n)
			s->hot = n->next;
	}
	if (persist)
		db_exec(s->db, "DELETE FROM records WHERE coll = ? AND id = ?", "ss", s->name, n->id);
}

/* Free an unlinked node (no lock needed). */
static void node_free(struct node *n)
{
	free(n->doc);
	free(n->ixdoc);
	json_decref(n->rec);
	free(n);
}

/* Unlink and free a node (lock held). */
static void drop_node(struct mock_store *s, struct node *n, bool persist)
{
	unlink_node(s, n, persist);
	node_free(n);
}

/*
 * The size of a value, about as compact JSON but without formatting it (numbers count 8): what
 * the byte bound counts for a tree, cheap enough for every put.
 */
static size_t rec_bytes(const json_t *v)
{
	const char *key;
	json_t *item;
	size_t i, n = 2;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		json_object_foreach ((json_t *)v, key, item)
			n += strlen(key) + 4 + rec_bytes(item);
		return n;
	case JSON_ARRAY:
		json_array_foreach (v, i, item)
			n += 1 + rec_bytes(item);
		return n;
	case JSON_STRING:
		return json_string_length(v) + 2;
	default:
		return 8;
	}
}

/* A node's record to read (lock held): the tree itself (*owned false) or one parsed from the text. */
static json_t *node_tree(const struct node *n, bool *owned)
{
	*owned = !n->rec;
	return n->rec ? n->rec : json_loadb(n->doc, n->bytes, JSON_DECODE_ANY, NULL);
}

/* A copy of a node's record the caller owns (lock held); NULL only when memory runs out. */
static json_t *node_rec(const struct node *n)
{
	return n->rec ? json_deep_copy(n->rec) : json_loadb(n->doc, n->bytes, JSON_DECODE_ANY, NULL);
}

/*
 * A new node: a tree rec (with its text doc, or doc NULL) or only text (rec NULL), of `bytes`
 * (exact with doc); steals both.
 */
static struct node *node_new(const char *id, uint64_t seq, json_t *rec, char *doc, size_t bytes)
{
	size_t len = strlen(id);
	struct node *n = mock_xcalloc(1, sizeof(*n) + len + 1);

	memcpy(n->id, id, len + 1);
	n->hash = hash_id(id);
	n->seq = seq;
	n->rec = rec;
	n->doc = doc;
	n->bytes = bytes;
	return n;
}

/*
 * Set a node's record to rec and its text doc (NULL: unknown; steals both; lock held): a tree
 * stays a tree (its old text dropped), text stays text (rec dumped unless doc). Returns what it
 * replaces (a tree, or rec itself for text; the old text in *old_doc) for the caller to free after
 * unlocking.
 */
static json_t *node_set(struct mock_store *s, struct node *n, json_t *rec, char *doc,
			char **old_doc)
{
	json_t *old = n->rec;

	*old_doc = n->doc;
	s->bytes -= n->bytes;
	if (n->rec) {
		n->rec = rec;
		n->doc = doc;
		n->bytes = doc ? strlen(doc) : rec_bytes(rec);
	} else {
		n->doc = doc ? doc : mock_json_dump(rec);
		n->bytes = strlen(n->doc);
		old = rec;
	}
	s->bytes += n->bytes;
	return old;
}

/*
 * Turn the oldest hot node into text (lock held; there is one): its text when it kept one (a
 * put's answer, an update's), else dumped. Returns the tree (NULL when it had none left) for the
 * caller to free after unlocking.
 */
static json_t *compact(struct mock_store *s)
{
	struct node *n = s->hot;
	json_t *tree = n->rec;

	if (!n->doc)
		n->doc = mock_json_dump(tree);
	s->bytes -= n->bytes;
	n->bytes = strlen(n->doc);
	s->bytes += n->bytes;
	n->rec = NULL;
	n->hot = false;
	s->hot = n->next;
	s->nhot--;
	s->compacted++;
	return tree;
}

/* Whether the oldest tree is to be made text (lock held; see STORE_HOT). */
static bool compact_due(const struct mock_store *s, int64_t now)
{
	if (s->nhot <= STORE_HOT)
		return false;
	return s->nhot > STORE_HOT_MAX || now - s->hot->changed >= s->hot_ms;
}

/* Whether the collection is over a bound, so its oldest record (not keep) must go (lock held). */
static bool over_bounds(const struct mock_store *s, const struct node *keep)
{
	if (!s->head || s->head == keep)
		return false;
	return (s->max && s->n > s->max) || (s->max_bytes && s->bytes > s->max_bytes);
}

/* Load the collection's rows from the database. */
static int store_load(struct mock_store *s, struct mock_err *e)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (!s->db->sql)
		return 0;
	pthread_mutex_lock(&s->db->lock);
	rc = sqlite3_prepare_v2(s->db->sql, "SELECT id, seq, doc FROM records WHERE coll = ? ORDER BY seq",
				-1, &st, NULL);
	sqlite3_bind_text(st, 1, s->name, -1, SQLITE_STATIC);
	while (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
		const char *doc = (const char *)sqlite3_column_text(st, 2);
		json_t *rec = doc ? json_loads(doc, 0, NULL) : NULL;
		uint64_t seq = (uint64_t)sqlite3_column_int64(st, 1);
		if (!json_is_object(rec)) {
			json_decref(rec);
			continue;
		}
		char *text = mock_json_dump(rec);
		link_node(s, node_new((const char *)sqlite3_column_text(st, 0), seq, NULL, text,
				      strlen(text)));
		json_decref(rec);
		if (seq > s->last_seq)
			s->last_seq = seq;
	}
	if (rc != SQLITE_OK)
		mock_err_set(e, "loading %s: %s", s->name, sqlite3_errmsg(s->db->sql));
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->db->lock);
	return rc == SQLITE_OK ? 0 : -1;
}

/* A collection. */
struct mock_store *mock_store_new(struct mock_db *db, const char *name, size_t max_records,
				  struct mock_err *e)
{
	struct mock_store *s = mock_xcalloc(1, sizeof(*s));

	pthread_mutex_init(&s->lock, NULL);
	sbx_cond_init_mono(&s->cond);
	s->db = db;
	s->name = mock_xstrdup(name);
	s->max = max_records;
	s->nbuckets = 64;
	s->buckets = mock_xcalloc(s->nbuckets, sizeof(*s->buckets));
	s->match = mock_store_match_fields;
	s->hot_ms = STORE_HOT_MS;
	if (store_load(s, e) < 0) {
		mock_store_free(s);
		return NULL;
	}
	return s;
}

/* Free a collection (records stay in the database). */
void mock_store_free(struct mock_store *s)
{
	if (!s)
		return;
	while (s->head)
		drop_node(s, s->head, false);
	free(s->buckets);
	free(s->name);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* The collection's name. */
const char *mock_store_name(const struct mock_store *s)
{
	return s->name;
}

/* Replace the match function. */
void mock_store_set_match(struct mock_store *s, mock_match_fn fn, void *arg)
{
	pthread_mutex_lock(&s->lock);
	s->match = fn ? fn : mock_store_match_fields;
	s->match_arg = arg;
	pthread_mutex_unlock(&s->lock);
}

/* Whether a JSON scalar reads as text. */
static bool scalar_eq(const json_t *v, const char *text)
{
	char num[32];

	if (json_is_string(v))
		return strcmp(json_string_value(v), text) == 0;
	if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
		return strcmp(num, text) == 0;
	}
	if (json_is_boolean(v))
		return strcmp(json_is_true(v) ? "true" : "false", text) == 0;
	return false;
}

/* The default match: every filter key equals the record's field (or an element of it). */
bool mock_store_match_fields(const json_t *rec, const struct mock_kvlist *filter, void *arg)
{
	(void)arg;
	for (size_t i = 0; filter && i < filter->n; i++) {
		const json_t *v = json_object_get(rec, filter->v[i].key);
		bool hit = scalar_eq(v, filter->v[i].value ? filter->v[i].value : "");
		for (size_t j = 0; !hit && json_is_array(v) && j < json_array_size(v); j++)
			hit = scalar_eq(json_array_get(v, j), filter->v[i].value ? filter->v[i].value : "");
		if (!hit)
			return false;
	}
	return true;
}

/* Unlink a watching wait (lock held). */
static void watch_unlink(struct mock_store *s, struct mock_wait *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		s->watches = w->next;
	if (w->next)
		w->next->prev = w->prev;
	w->prev = w->next = NULL;
	w->linked = false;
	s->nwatches--;
}

/*
 * Wake the watches node n now matches (lock held). A watch registered after finding no match can
 * only be matched by a record stored or changed since, so n is the one candidate.
 */
static void notify(struct mock_store *s, struct node *n, const json_t *rec)
{
	struct mock_wait *w = s->watches, *next;
	json_t *parsed = NULL;

	if (w && !rec) /* a record put or replaced as text: parsed only when someone waits */
		rec = parsed = json_loadb(n->doc, n->bytes, JSON_DECODE_ANY, NULL);
	for (; w && rec; w = next) {
		next = w->next;
		if (n->seq <= w->after || !s->match(rec, &w->filter, s->match_arg))
			continue;
		watch_unlink(s, w);
		w->wake(w->wake_arg, json_deep_copy(rec));
	}
	json_decref(parsed);
}

/*
 * doc (len bytes and a NUL) in an allocation of its size: a text built by doubling a buffer
 * leaves up to half of it unused, and the store keeps it (shrinking is done in place).
 */
static char *fit_text(char *doc, size_t len)
{
	return doc ? mock_xrealloc(doc, len + 1) : NULL;
}

/* What the store keeps beside a record: its tags and its index text. */
struct meta {
	uint32_t tags;
	char *ixdoc; /* NULL: no index */
	size_t ixlen;
};

/*
 * The tags and index of a record given as a tree rec or, when rec is NULL, as its text doc (len
 * bytes, parsed once, only when the store has a tag or an index function): none without them. The
 * functions are set once at start, so reading them unlocked is safe.
 */
static struct meta meta_of(const struct mock_store *s, const json_t *rec, const char *doc,
			   size_t len)
{
	struct meta m = {0, NULL, 0};
	json_t *tree = NULL, *ix;

	if ((!s->tag && !s->index) || (!rec && !doc))
		return m;
	if (!rec)
		rec = tree = json_loadb(doc, len, JSON_DECODE_ANY, NULL);
	if (rec && s->tag)
		m.tags = s->tag(rec);
	ix = rec && s->index ? s->index(rec) : NULL;
	if (ix) {
		m.ixdoc = mock_json_dump(ix);
		m.ixlen = strlen(m.ixdoc);
	}
	json_decref(ix);
	json_decref(tree);
	return m;
}

/* Give a node its tags and index (lock held); returns the old index text for the caller to free. */
static char *meta_set(struct node *n, struct meta m)
{
	char *old = n->ixdoc;

	n->tags = m.tags;
	n->ixdoc = m.ixdoc;
	n->ixlen = m.ixlen;
	return old;
}

/*
 * Store rec under id with its text doc (NULL: unknown; steals both; bytes: the size as compact
 * JSON, exact with doc); lock not held.
 */
static void put_rec(struct mock_store *s, const char *id, json_t *rec, char *doc, size_t bytes)
{
	struct node *n, *gone = NULL; /* evicted nodes, freed after unlocking */
	json_t *old = NULL, *spent[2] = {NULL, NULL}; /* trees made text, freed after unlocking */
	int64_t now = sbx_mono_ms();
	char *old_doc = NULL, *old_ix;
	uint64_t compacted;
	bool trim;
	struct meta meta = meta_of(s, rec, doc, bytes);

	doc = fit_text(doc, bytes);
	pthread_mutex_lock(&s->lock);
	compacted = s->compacted;
	n = find(s, id);
	if (n) {
		old = node_set(s, n, rec, doc, &old_doc);
	} else {
		n = node_new(id, ++s->last_seq, rec, doc, bytes);
		link_node(s, n);
	}
	n->changed = now;
	old_ix = meta_set(n, meta);
	for (int i = 0; i < 2 && compact_due(s, now); i++) /* two: catch up after a burst */
		spent[i] = compact(s);
	db_save(s, n);
	notify(s, n, rec);
	while (over_bounds(s, n)) {
		struct node *h = s->head;
		unlink_node(s, h, true);
		h->next = gone;
		gone = h;
		s->evicted++;
		s->compacted++;
	}
	trim = compacted / STORE_TRIM_EVERY != s->compacted / STORE_TRIM_EVERY;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	json_decref(old);
	json_decref(spent[0]);
	json_decref(spent[1]);
	free(old_doc);
	free(old_ix);
	while (gone) {
		struct node *next = gone->next;
		node_free(gone);
		gone = next;
	}
	if (trim)
		malloc_trim(0);
}

/* The record's "id", or NULL when it has none (rec is then freed). */
static const char *put_id(json_t *rec)
{
	const char *id = json_string_value(json_object_get(rec, "id"));

	if (id && *id)
		return id;
	json_decref(rec);
	return NULL;
}

/* Answer resp with status and a copy of the JSON text doc (len bytes), then "\n". */
static void answer_text(struct mock_resp *resp, int status, const char *doc, size_t len)
{
	char *body = mock_xmalloc(len + 2);

	memcpy(body, doc, len);
	body[len] = '\n';
	body[len + 1] = '\0';
	mock_resp_take(resp, status, "application/json", body, len + 1);
}

/* Insert or replace a record. */
int mock_store_put(struct mock_store *s, json_t *rec)
{
	const char *id = put_id(rec);

	if (!id)
		return -1;
	put_rec(s, id, rec, NULL, rec_bytes(rec));
	return 0;
}

/* Insert or replace a record and answer resp with the same text. */
int mock_store_put_answer(struct mock_store *s, json_t *rec, struct mock_resp *resp, int status)
{
	const char *id = put_id(rec);
	char *doc;
	size_t len;

	if (!id)
		return -1;
	doc = mock_json_dump(rec);
	len = strlen(doc);
	answer_text(resp, status, doc, len);
	put_rec(s, id, rec, doc, len);
	return 0;
}

/* Insert or replace a record given as its text; optionally answer resp with the same text. */
int mock_store_put_text(struct mock_store *s, const char *id, char *doc, size_t len,
			struct mock_resp *resp, int status)
{
	if (!id || !*id) {
		free(doc);
		return -1;
	}
	if (resp)
		answer_text(resp, status, doc, len);
	put_rec(s, id, NULL, doc, len);
	return 0;
}

/* A copy of one record. */
json_t *mock_store_get(struct mock_store *s, const char *id)
{
	struct node *n;
	json_t *copy = NULL;

	pthread_mutex_lock(&s->lock);
	n = find(s, id);
	if (n)
		copy = node_rec(n);
	pthread_mutex_unlock(&s->lock);
	return copy;
}

/* Update one record (lock held; the caller broadcasts when it returns 0): what mock_store_update
 * returns. */
static int update_locked(struct mock_store *s, const char *id, int (*fn)(json_t *rec, void *arg),
			 void *arg)
{
	struct node *n = find(s, id);
	json_t *rec = NULL;
	bool owned = false;
	char *old_doc = NULL;
	int rc = -1;

	if (n)
		rec = node_tree(n, &owned);
	if (rec)
		rc = fn(rec, arg);
	if (rec && rc == 0) {
		/* text: rec handed back (and dumped); a tree: the same one, its text dropped */
		json_t *spent = node_set(s, n, rec, NULL, &old_doc);
		n->changed = sbx_mono_ms();
		free(meta_set(n, meta_of(s, rec, NULL, 0)));
		db_save(s, n);
		notify(s, n, rec);
		if (owned)
			json_decref(spent);
	}
	free(old_doc);
	if (owned && rc != 0)
		json_decref(rec);
	return rc;
}

/* Update a record in place. */
int mock_store_update(struct mock_store *s, const char *id, int (*fn)(json_t *rec, void *arg),
		      void *arg)
{
	int rc;

	pthread_mutex_lock(&s->lock);
	rc = update_locked(s, id, fn, arg);
	if (rc == 0)
		pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/*
 * Replace the text of one record (lock held; the caller broadcasts when it returns 0): 0, or -1
 * when the id is unknown (doc freed). What it replaced is freed here: a text (one free), or a tree
 * only when the record was still one (not for records put as text).
 */
static int replace_locked(struct mock_store *s, const char *id, char *doc, size_t len)
{
	struct node *n = find(s, id);

	if (!n) {
		free(doc);
		return -1;
	}
	free(n->doc);
	json_decref(n->rec);
	s->bytes -= n->bytes;
	n->rec = NULL; /* a hot node may be text (see node.hot) */
	n->doc = doc;
	n->bytes = len;
	free(meta_set(n, meta_of(s, NULL, doc, len)));
	s->bytes += len;
	n->changed = sbx_mono_ms();
	s->compacted++;
	db_save(s, n);
	notify(s, n, NULL);
	return 0;
}

/* Replace the text of several records under one acquisition of the lock. */
void mock_store_replace_each(struct mock_store *s, size_t n, const char *const *ids, char **docs,
			     const size_t *lens, int *rcs)
{
	bool changed = false, trim;
	uint64_t compacted;

	for (size_t i = 0; i < n; i++)
		docs[i] = fit_text(docs[i], lens[i]);
	pthread_mutex_lock(&s->lock);
	compacted = s->compacted;
	for (size_t i = 0; i < n; i++) {
		rcs[i] = replace_locked(s, ids[i], docs[i], lens[i]);
		changed |= rcs[i] == 0;
	}
	trim = compacted / STORE_TRIM_EVERY != s->compacted / STORE_TRIM_EVERY;
	if (changed)
		pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	if (trim)
		malloc_trim(0);
}

/* Delete one record. */
int mock_store_del(struct mock_store *s, const char *id)
{
	struct node *n;

	pthread_mutex_lock(&s->lock);
	n = find(s, id);
	if (n)
		drop_node(s, n, true);
	pthread_mutex_unlock(&s->lock);
	return n ? 0 : -1;
}

/* Delete every record. */
size_t mock_store_clear(struct mock_store *s)
{
	size_t count;

	pthread_mutex_lock(&s->lock);
	count = s->n;
	while (s->head)
		drop_node(s, s->head, false);
	db_exec(s->db, "DELETE FROM records WHERE coll = ?", "s", s->name);
	pthread_mutex_unlock(&s->lock);
	return count;
}

/* Number of records. */
size_t mock_store_count(struct mock_store *s)
{
	size_t count;

	pthread_mutex_lock(&s->lock);
	count = s->n;
	pthread_mutex_unlock(&s->lock);
	return count;
}

/*
 * Whether every record matches filter without looking (no pair: every match function accepts
 * every record then): a list parses only the records of its page.
 */
static bool matches_all(const struct mock_store *s, const struct mock_kvlist *filter)
{
	(void)s;
	return !filter || filter->n == 0;
}

/* What a node's index says of filter (lock held): 1, 0, or -1 when it has none or cannot say. */
static int index_says(const struct mock_store *s, const struct node *n,
		      const struct mock_kvlist *filter)
{
	json_t *ix;
	int rc;

	if (!n->ixdoc)
		return -1;
	ix = json_loadb(n->ixdoc, n->ixlen, 0, NULL);
	rc = ix ? s->index_match(ix, filter, s->match_arg) : -1;
	json_decref(ix);
	return rc;
}

/*
 * Whether node n matches filter (lock held): without a filter at once, else from its index when
 * that can say, else from its record and the match function. *rec is the record when it was read
 * for a match (*owned: parsed, the caller frees it), else NULL.
 */
static bool node_match(struct mock_store *s, const struct node *n, const struct mock_kvlist *filter,
		       json_t **rec, bool *owned)
{
	int says;

	*rec = NULL;
	*owned = false;
	if (matches_all(s, filter))
		return true;
	says = index_says(s, n, filter);
	if (says >= 0)
		return says == 1;
	*rec = node_tree(n, owned);
	if (*rec && s->match(*rec, filter, s->match_arg))
		return true;
	if (*owned)
		json_decref(*rec);
	*rec = NULL;
	*owned = false;
	return false;
}

/* Matching records, newest first, paged. */
json_t *mock_store_list(struct mock_store *s, const struct mock_kvlist *filter, size_t offset,
			size_t limit, size_t *total)
{
	size_t tagged;

	return mock_store_list_tagged(s, filter, offset, limit, 0, total, &tagged);
}

/* Matching records, newest first, paged, with how many of the matches carry a tag of mask. */
json_t *mock_store_list_tagged(struct mock_store *s, const struct mock_kvlist *filter,
			       size_t offset, size_t limit, uint32_t mask, size_t *total,
			       size_t *tagged)
{
	json_t *items = json_array();
	size_t matched = 0, ntagged = 0;

	pthread_mutex_lock(&s->lock);
	for (struct node *n = s->tail; n; n = n->prev) {
		bool want, owned;
		json_t *rec;

		if (!node_match(s, n, filter, &rec, &owned))
			continue;
		want = matched >= offset && matched - offset < limit;
		if (want)
			json_array_append_new(items, owned ? json_incref(rec) : node_rec(n));
		if (owned)
			json_decref(rec);
		matched++;
		ntagged += (n->tags & mask) != 0;
	}
	pthread_mutex_unlock(&s->lock);
	*total = matched;
	*tagged = ntagged;
	return items;
}

/* Set the tag function and tag the records held (parsing those kept as text). */
void mock_store_set_tag(struct mock_store *s, mock_tag_fn fn)
{
	pthread_mutex_lock(&s->lock);
	s->tag = fn;
	for (struct node *n = s->head; n; n = n->next)
		free(meta_set(n, meta_of(s, n->rec, n->doc, n->bytes)));
	pthread_mutex_unlock(&s->lock);
}

/* Set the index functions and index the records held (parsing those kept as text). */
void mock_store_set_index(struct mock_store *s, mock_index_fn fn, mock_index_match_fn match)
{
	pthread_mutex_lock(&s->lock);
	s->index = fn && match ? fn : NULL;
	s->index_match = match;
	for (struct node *n = s->head; n; n = n->next)
		free(meta_set(n, meta_of(s, n->rec, n->doc, n->bytes)));
	pthread_mutex_unlock(&s->lock);
}

/* The newest match newer than after_seq (lock held). */
static json_t *newest_match(struct mock_store *s, const struct mock_kvlist *filter, uint64_t after)
{
	for (struct node *n = s->tail; n && n->seq > after; n = n->prev) {
		bool owned;
		json_t *rec;

		if (!node_match(s, n, filter, &rec, &owned))
			continue;
		if (rec)
			return owned ? rec : json_deep_copy(rec);
		if ((rec = node_rec(n)))
			return rec;
	}
	return NULL;
}

/* Long-poll for a matching record. */
json_t *mock_store_wait(struct mock_store *s, const struct mock_kvlist *filter, uint64_t after_seq,
			int64_t timeout_ms)
{
	struct timespec dl;
	json_t *hit;
	int rc = 0;

	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += timeout_ms / 1000;
	dl.tv_nsec += (timeout_ms % 1000) * 1000000;
	if (dl.tv_nsec >= 1000000000) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&s->lock);
	s->waiters++;
	while (!(hit = newest_match(s, filter, after_seq)) && !s->shutdown && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&s->cond, &s->lock, &dl);
	s->waiters--;
	pthread_mutex_unlock(&s->lock);
	return hit;
}

/* Sequence number of a record. */
uint64_t mock_store_seq(struct mock_store *s, const char *id)
{
	struct node *n;
	uint64_t seq = 0;

	pthread_mutex_lock(&s->lock);
	n = find(s, id);
	if (n)
		seq = n->seq;
	pthread_mutex_unlock(&s->lock);
	return seq;
}

/* Bound the collection in bytes too. */
void mock_store_set_max_bytes(struct mock_store *s, size_t max_bytes)
{
	pthread_mutex_lock(&s->lock);
	s->max_bytes = max_bytes;
	pthread_mutex_unlock(&s->lock);
}

/* How long changed records stay trees. */
void mock_store_set_hot_ms(struct mock_store *s, int64_t ms)
{
	pthread_mutex_lock(&s->lock);
	s->hot_ms = ms;
	pthread_mutex_unlock(&s->lock);
}

/* Records evicted by the bounds so far. */
uint64_t mock_store_evictions(struct mock_store *s)
{
	uint64_t n;

	pthread_mutex_lock(&s->lock);
	n = s->evicted;
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* Long-polls in progress. */
size_t mock_store_waiters(struct mock_store *s)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	n = s->waiters + s->nwatches;
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* Wake and release every waiter. */
void mock_store_shutdown(struct mock_store *s)
{
	pthread_mutex_lock(&s->lock);
	s->shutdown = true;
	while (s->watches) {
		struct mock_wait *w = s->watches;
		watch_unlink(s, w);
		w->wake(w->wake_arg, NULL);
	}
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

/* Make resp a long-poll. */
void mock_resp_wait(struct mock_resp *resp, struct mock_store *s, struct mock_kvlist *filter,
		    uint64_t after_seq, int64_t timeout_ms, mock_wait_fn fn, void *arg)
{
	struct mock_wait *w = mock_xcalloc(1, sizeof(*w));

	w->st = s;
	w->filter = *filter;
	memset(filter, 0, sizeof(*filter));
	w->after = after_seq;
	w->timeout_ms = timeout_ms;
	w->fn = fn;
	w->arg = arg;
	mock_wait_free(resp->wait);
	resp->wait = w;
}

/* The wait's timeout. */
int64_t mock_wait_timeout(const struct mock_wait *w)
{
	return w->timeout_ms;
}

/* Wait, blocking. */
json_t *mock_wait_block(struct mock_wait *w)
{
	return mock_store_wait(w->st, &w->filter, w->after, w->timeout_ms);
}

/* Watch without blocking. */
int mock_wait_watch(struct mock_wait *w, void (*wake)(void *arg, json_t *rec), void *arg,
		    json_t **rec)
{
	struct mock_store *s = w->st;
	int rc = 0;

	pthread_mutex_lock(&s->lock);
	if (s->shutdown) {
		rc = -1;
	} else if ((*rec = newest_match(s, &w->filter, w->after))) {
		rc = 1;
	} else {
		w->wake = wake;
		w->wake_arg = arg;
		w->linked = true;
		w->prev = NULL;
		w->next = s->watches;
		if (s->watches)
			s->watches->prev = w;
		s->watches = w;
		s->nwatches++;
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* Stop watching. */
void mock_wait_unwatch(struct mock_wait *w)
{
	pthread_mutex_lock(&w->st->lock);
	if (w->linked)
		watch_unlink(w->st, w);
	pthread_mutex_unlock(&w->st->lock);
}

/* Finish a wait into its response. */
void mock_wait_finish(struct mock_resp *resp, const json_t *rec)
{
	struct mock_wait *w = resp->wait;

	if (!w)
		return;
	resp->wait = NULL;
	w->fn(resp, rec, w->timeout_ms, w->arg);
	mock_wait_free(w);
}

/* Free a wait. */
void mock_wait_free(struct mock_wait *w)
{
	if (!w)
		return;
	mock_wait_unwatch(w);
	mock_kv_free(&w->filter);
	free(w);
}
