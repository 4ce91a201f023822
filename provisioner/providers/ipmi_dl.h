/* ipmi_dl — libfreeipmi loaded on first use: its response templates, which are data, by name. */
#ifndef SBX_IPMI_DL_H
#define SBX_IPMI_DL_H

#include <freeipmi/freeipmi.h>

/* The libfreeipmi template named name; ends the process with a message when it cannot be found. */
struct fiid_field *ipmi_dl_tmpl(const char *name);
/* The template tmpl_NAME, looked up by its own name (keeps the name greppable). */
#define IPMI_TMPL(tmpl) ipmi_dl_tmpl(#tmpl)

#endif
