/*
 * k8s_yaml — YAML and JSON text into JSON documents, the way Kubernetes reads manifests
 * (sigs.k8s.io/yaml: YAML → JSON → the API). The only libyaml user of provisioner/k8s/.
 *
 * Scalars: quoted and block scalars and `!!str` stay strings; plain scalars resolve as
 *   null   "", ~, null, Null, NULL
 *   bool   true, True, TRUE, false, False, FALSE   (YAML 1.2 core: yes/no/on/off stay strings)
 *   int    [-+]digits, 0x.., 0o.., 0b.., and a leading 0 as octal (0644 = 420) as Kubernetes'
 *          YAML reader does; `_` separators are dropped
 *   float  [-+](.5|1.|1.5)(e[-+]N); an integral float becomes an integer (Go's JSON encoding of
 *          1e3 is 1000); .inf and .nan are errors (JSON has no such numbers)
 * Mapping keys are scalars and become strings (`1:` → "1"); a duplicate key is an error; `<<` merges
 * mappings (explicit keys win). Anchors and aliases resolve into copies (never shared), within a
 * budget of K8S_YAML_MAX_NODES values per file, so an alias bomb stops early. Documents that are
 * empty or null are skipped. JSON files (one or more concatenated values) are read by jansson.
 */
#ifndef SBX_K8S_YAML_H
#define SBX_K8S_YAML_H

#include <stddef.h>

#include <jansson.h>

#include "util.h"

#define K8S_YAML_MAX_BYTES (16u << 20) /* one file */
#define K8S_YAML_MAX_DOCS 10000        /* documents in one file */
#define K8S_YAML_MAX_NODES 1000000     /* JSON values made from one file, aliases expanded */
#define K8S_YAML_MAX_DEPTH 128         /* nesting */

/* One document: its JSON value (owned) and the 1-based line where it starts. */
struct k8s_doc {
	json_t *json;
	int line;
};
/* The documents of one text, in order; zero-initialise, free with k8s_docs_clear. */
struct k8s_docs {
	struct k8s_doc *v;
	size_t n, cap;
};

/*
 * Append the documents of YAML text (name names it in errors: "NAME:LINE:COL: ...") to *out.
 * On error nothing is appended and err holds the position (code SBX_EXIT_USAGE).
 */
int k8s_yaml_parse(const char *name, const char *text, size_t len, struct k8s_docs *out,
	struct sbx_err *err) SBX_WUR;
/* The same for JSON text: one or more JSON values, separated by white space. */
int k8s_json_parse(const char *name, const char *text, size_t len, struct k8s_docs *out,
	struct sbx_err *err) SBX_WUR;
/* Release the documents; *d can be reused. */
void k8s_docs_clear(struct k8s_docs *d);

#endif
