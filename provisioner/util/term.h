/*
 * term — text fit for a terminal. Text that comes from elsewhere (a guest's output, a remote error,
 * a file we did not write) may carry escape sequences that move the cursor, retitle the window,
 * rewrite what was printed before or answer back; it is cleaned before it is printed.
 */
#ifndef SBX_TERM_H
#define SBX_TERM_H

#include <stddef.h>

/*
 * A copy of s fit for a terminal (caller frees; NULL gives NULL): '\n' and '\t' are kept and
 * "\r\n" becomes "\n"; every other C0 control, DEL, C1 control (U+0080..U+009F), escape sequence
 * (ESC and what follows it up to its final byte: CSI, OSC/DCS strings up to BEL or ST, two-byte
 * sequences) and every byte that is not well-formed UTF-8 becomes one '?'. Printable ASCII and
 * well-formed UTF-8 are copied unchanged.
 */
char *term_sanitize(const char *s);

/* The same for the first len bytes of s (which may hold NUL bytes: each becomes '?'). */
char *term_sanitize_n(const char *s, size_t len);

#endif
