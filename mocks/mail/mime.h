/*
 * mime — Internet messages (RFC 5322 headers, MIME RFC 2045-2047, 2231) read by GMime into the
 * top-level headers and the list of leaf parts.
 *
 * mime_parse() never fails: whatever the input, it yields the top-level headers and the list of
 * leaf parts (multipart containers are walked, up to MIME_MAX_DEPTH levels and MIME_MAX_PARTS
 * parts; a multipart without parts is a leaf of its own type), each with its transfer encoding
 * (base64, quoted-printable, uuencode) undone. A message without MIME structure is one
 * text/plain part; one GMime cannot read at all (no header section) is one text/plain part
 * holding every byte. Parsing copies what it keeps: the input may be freed afterwards, and a
 * parsed message is plain data, read-only, so it may be shared between threads.
 */
#ifndef SBX_MAIL_MIME_H
#define SBX_MAIL_MIME_H

#include <stdbool.h>
#include <stddef.h>

#define MIME_MAX_DEPTH 16
#define MIME_MAX_PARTS 256
#define MIME_MAX_HEADERS 512
#define MIME_MAX_ADDRS 1000

/* A leaf part. Strings are NUL-terminated; optional ones are NULL when absent. */
struct mime_part {
	char *content_type;   /* lowercase "type/subtype" (default "text/plain") */
	char *charset;        /* as declared, or NULL */
	char *encoding;       /* lowercase Content-Transfer-Encoding (default "7bit") */
	char *disposition;    /* lowercase "inline" / "attachment", or NULL */
	char *filename;       /* UTF-8 (RFC 2047 / 2231 decoded) from Content-Disposition or name=, or NULL */
	char *content_id;     /* Content-ID without the angle brackets, or NULL */
	char *body;           /* decoded bytes (NUL-terminated for convenience; may contain NULs) */
	size_t len;
	bool attachment;      /* an attachment rather than the message text */
};

struct mime_msg;

/* Parse raw (len bytes). Never NULL; free with mime_free. */
struct mime_msg *mime_parse(const char *raw, size_t len);
/* Free a parsed message. NULL is a no-op. */
void mime_free(struct mime_msg *m);

/* Number of top-level headers, and the i-th one (name as written, value unfolded, raw). */
size_t mime_nheaders(const struct mime_msg *m);
void mime_header_at(const struct mime_msg *m, size_t i, const char **name, const char **value);
/* The raw (unfolded) value of the first top-level header called name (case-insensitive), or NULL. */
const char *mime_header(const struct mime_msg *m, const char *name);
/* The same value as UTF-8 with encoded words decoded, or NULL when absent; caller frees. */
char *mime_header_decoded(const struct mime_msg *m, const char *name);

/* A mailbox of an address header: display name (decoded, "" when none) and address. */
struct mime_addr {
	char *name;
	char *address;
};
/*
 * The mailboxes of the first top-level header called name (To, Cc, From ...), groups flattened,
 * as valid UTF-8; NULL and *n = 0 when absent or empty. At most MIME_MAX_ADDRS. Free with
 * mime_addrs_free.
 */
struct mime_addr *mime_header_addrs(const struct mime_msg *m, const char *name, size_t *n);
/* Free what mime_header_addrs returned. NULL is a no-op. */
void mime_addrs_free(struct mime_addr *a, size_t n);
/*
 * The Date header as RFC 3339 in its own offset ("2026-12-02T13:04:05+01:00", "...Z" at UTC)
 * into out; 0, or -1 when absent or unreadable.
 */
int mime_header_date(const struct mime_msg *m, char out[40]);

/* Number of leaf parts, and the i-th one. */
size_t mime_nparts(const struct mime_msg *m);
const struct mime_part *mime_part_at(const struct mime_msg *m, size_t i);
/* The first non-attachment part of this content type ("text/plain", "text/html"), or NULL. */
const struct mime_part *mime_body(const struct mime_msg *m, const char *content_type);
/* A part's body as UTF-8 (converted from its charset); caller frees. */
char *mime_part_text(const struct mime_part *p);

#endif
