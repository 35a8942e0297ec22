/* Errors: dossier_error helpers, google.rpc.Status and ErrorDetail decoding, last error. */
#define _POSIX_C_SOURCE 200809L

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

#include "internal.h"

#include "dossier/v1/common.pb-c.h"
#include "google/protobuf/any.pb-c.h"
#include "google/rpc/status.pb-c.h"

#define ERROR_DETAIL_TYPE_URL "type.googleapis.com/dossier.v1.ErrorDetail"

static void copy_string(char *dst, size_t size, const char *src, size_t len)
{
    if (len >= size)
        len = size - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
}

void dossier_error_clear(dossier_error *err)
{
    if (err == NULL)
        return;
    memset(err, 0, sizeof *err);
    err->kind = DOSSIER_OK;
}

void dossier_error_set(dossier_error *err, dossier_error_kind kind, int grpc_code,
                       const char *fmt, ...)
{
    if (err == NULL)
        return;
    dossier_error_clear(err);
    err->kind = kind;
    err->grpc_code = grpc_code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
}

void dossier_error_append_openssl(dossier_error *err)
{
    unsigned long e;
    while ((e = ERR_get_error()) != 0) {
        if (err == NULL)
            continue;
        size_t used = strlen(err->message);
        if (used + 3 >= sizeof err->message)
            continue;
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        snprintf(err->message + used, sizeof err->message - used, "%s%s",
                 used > 0 ? ": " : "", buf);
    }
}

int dossier_error_from_status(dossier_error *err, const Google__Rpc__Status *status)
{
    /* An absent status reads as OK (PROTOCOL.md 5.2). */
    if (status == NULL || status->code == 0) {
        dossier_error_clear(err);
        return 0;
    }
    if (err == NULL)
        return -1;
    dossier_error_clear(err);
    err->kind = DOSSIER_ERR_STATUS;
    err->grpc_code = status->code;
    if (status->message != NULL)
        copy_string(err->message, sizeof err->message, status->message, strlen(status->message));
    for (size_t i = 0; i < status->n_details; i++) {
        const Google__Protobuf__Any *any = status->details[i];
        if (any == NULL || any->type_url == NULL || strcmp(any->type_url, ERROR_DETAIL_TYPE_URL) != 0)
            continue; /* details of other types are ignored */
        Dossier__V1__ErrorDetail *detail =
            dossier__v1__error_detail__unpack(NULL, any->value.len, any->value.data);
        if (detail == NULL)
            continue;
        if (detail->reason != NULL)
            copy_string(err->reason, sizeof err->reason, detail->reason, strlen(detail->reason));
        if (detail->field != NULL)
            copy_string(err->field, sizeof err->field, detail->field, strlen(detail->field));
        dossier__v1__error_detail__free_unpacked(detail, NULL);
        break;
    }
    return -1;
}

const char *dossier_error_kind_name(dossier_error_kind kind)
{
    switch (kind) {
    case DOSSIER_OK: return "OK";
    case DOSSIER_ERR_STATUS: return "STATUS";
    case DOSSIER_ERR_TLS: return "TLS";
    case DOSSIER_ERR_CONNECTION: return "CONNECTION";
    case DOSSIER_ERR_TIMEOUT: return "TIMEOUT";
    case DOSSIER_ERR_PROTOCOL: return "PROTOCOL";
    case DOSSIER_ERR_INVALID: return "INVALID";
    }
    return "UNKNOWN_KIND";
}

const char *dossier_grpc_code_name(int code)
{
    static const char *const names[] = {
        "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
        "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
        "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
        "UNAUTHENTICATED",
    };
    if (code < 0 || (size_t)code >= sizeof names / sizeof names[0])
        return "UNKNOWN_CODE";
    return names[code];
}

const char *dossier_error_format(const dossier_error *err, char *buf, size_t size)
{
    if (buf == NULL || size == 0)
        return buf;
    if (err == NULL || err->kind == DOSSIER_OK) {
        snprintf(buf, size, "OK");
        return buf;
    }
    int n;
    if (err->kind == DOSSIER_ERR_STATUS)
        n = snprintf(buf, size, "%s: %s", dossier_grpc_code_name(err->grpc_code), err->message);
    else
        n = snprintf(buf, size, "%s error (%s): %s", dossier_error_kind_name(err->kind),
                     dossier_grpc_code_name(err->grpc_code), err->message);
    if (n < 0 || (size_t)n >= size)
        return buf;
    if (err->reason[0] != '\0' || err->field[0] != '\0')
        snprintf(buf + n, size - (size_t)n, " [reason %s%s%s]",
                 err->reason[0] ? err->reason : "-", err->field[0] ? ", field " : "", err->field);
    else if (err->tls_alert != 0)
        snprintf(buf + n, size - (size_t)n, " [TLS alert %d]", err->tls_alert);
    return buf;
}

/* Outcomes where no client exists (a failed dossier_client_new, a call on NULL): per thread.
 * Calls on a client keep theirs in the client. */
static _Thread_local dossier_error no_client_error;

void dossier_set_last_error(dossier_client *client, const dossier_error *err)
{
    dossier_error *slot = client != NULL ? &client->last_error : &no_client_error;
    if (err != NULL)
        *slot = *err;
    else
        dossier_error_clear(slot);
}

const dossier_error *dossier_client_last_error(const dossier_client *client)
{
    return client != NULL ? &client->last_error : &no_client_error;
}
