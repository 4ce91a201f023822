/*
 * k8s_int — what the files of provisioner/k8s/ share inside the module: the connection's insides
 * and the discovery cache it carries.
 */
#ifndef SBX_K8S_INT_H
#define SBX_K8S_INT_H

#include <pthread.h>

#include <curl/curl.h>

#include "k8s_config.h"
#include "k8s_disc.h"

#define K8S_POOL_MAX 8 /* idle handles kept */

struct k8s {
	struct k8s_config *cfg;       /* a copy, secrets wiped on close */
	struct curl_slist *auth;      /* "Authorization: Bearer ..." (secret), or NULL */
	pthread_mutex_t mu;           /* guards the pool */
	CURL *idle[K8S_POOL_MAX];
	size_t nidle;
	struct k8s_disc *disc;        /* the discovery cache (own lock) */
};

#endif
