/* pq_dl — libpq, loaded on first use (util/dynlib.h says why): only a PostgreSQL state needs it.
 * One line per libpq function that sandbox calls; the compiler checks each against <libpq-fe.h>.
 * A new call needs a line here. */
#include <libpq-fe.h>

#include "dynlib.h"

#ifndef SBX_SONAME_PQ
#define SBX_SONAME_PQ "libpq.so.5"
#endif

struct dynlib dynlib_pq = DYNLIB_INIT(SBX_SONAME_PQ, "libpq5", NULL);

DYNLIB_VOID(dynlib_pq, PQclear, (PGresult *res), (res))
DYNLIB_FN(dynlib_pq, char *, PQcmdTuples, (PGresult *res), (res))
DYNLIB_FN(dynlib_pq, PGconn *, PQconnectdb, (const char *conninfo), (conninfo))
DYNLIB_FN(dynlib_pq, char *, PQerrorMessage, (const PGconn *conn), (conn))
DYNLIB_FN(dynlib_pq, PGresult *, PQexec, (PGconn *conn, const char *query), (conn, query))
DYNLIB_FN(dynlib_pq, PGresult *, PQexecParams, (PGconn *conn, const char *command, int nParams, const Oid *paramTypes, const char *const *paramValues, const int *paramLengths, const int *paramFormats, int resultFormat), (conn, command, nParams, paramTypes, paramValues, paramLengths, paramFormats, resultFormat))
DYNLIB_VOID(dynlib_pq, PQfinish, (PGconn *conn), (conn))
DYNLIB_VOID(dynlib_pq, PQfreemem, (void *ptr), (ptr))
DYNLIB_FN(dynlib_pq, int, PQgetisnull, (const PGresult *res, int tup_num, int field_num), (res, tup_num, field_num))
DYNLIB_FN(dynlib_pq, char *, PQgetvalue, (const PGresult *res, int tup_num, int field_num), (res, tup_num, field_num))
DYNLIB_FN(dynlib_pq, int, PQnfields, (const PGresult *res), (res))
DYNLIB_FN(dynlib_pq, int, PQntuples, (const PGresult *res), (res))
DYNLIB_VOID(dynlib_pq, PQreset, (PGconn *conn), (conn))
DYNLIB_FN(dynlib_pq, char *, PQresultErrorField, (const PGresult *res, int fieldcode), (res, fieldcode))
DYNLIB_FN(dynlib_pq, char *, PQresultErrorMessage, (const PGresult *res), (res))
DYNLIB_FN(dynlib_pq, ExecStatusType, PQresultStatus, (const PGresult *res), (res))
DYNLIB_FN(dynlib_pq, PQnoticeProcessor, PQsetNoticeProcessor, (PGconn *conn, PQnoticeProcessor proc, void *arg), (conn, proc, arg))
DYNLIB_FN(dynlib_pq, ConnStatusType, PQstatus, (const PGconn *conn), (conn))
DYNLIB_FN(dynlib_pq, PGTransactionStatusType, PQtransactionStatus, (const PGconn *conn), (conn))
DYNLIB_FN(dynlib_pq, unsigned char *, PQunescapeBytea, (const unsigned char *strtext, size_t *retbuflen), (strtext, retbuflen))
