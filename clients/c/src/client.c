/* The client: configuration, the connection's lifecycle, the public call entry points. */
#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>
#include <string.h>

#include "internal.h"

void dossier_config_init(dossier_config *config)
{
    if (config != NULL)
        memset(config, 0, sizeof *config);
}

static char *dup_string(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p != NULL)
        memcpy(p, s, n);
    return p;
}

static void client_destroy(dossier_client *c)
{
    dossier_client_disconnect(c);
    if (c->transport.bio_method != NULL)
        BIO_meth_free(c->transport.bio_method);
    SSL_CTX_free(c->ctx);
    for (size_t i = 0; i < c->n_services; i++)
        free(c->services[i]);
    free(c->services);
    free(c->host);
    free(c->server_name);
    pthread_mutex_destroy(&c->mutex);
    free(c);
}

/* Resolve + TCP + TLS by the earlier of connect_timeout_ms from now and deadline_ms (a call's;
 * DOSSIER_DEADLINE_NONE = none). */
static int connect_now(dossier_client *c, int64_t deadline_ms, dossier_error *err)
{
    dossier_frame_reader_reset(&c->reader);
    c->next_stream_id = 1;
    int64_t deadline = dossier_now_ms() + c->connect_timeout_ms;
    if (deadline_ms != DOSSIER_DEADLINE_NONE && deadline_ms < deadline)
        deadline = deadline_ms;
    return dossier_transport_connect(&c->transport, c->ctx, c->host, c->port, c->server_name,
                                     deadline, err);
}

static dossier_client *client_new(const dossier_config *config, dossier_error *err)
{
    dossier_error_clear(err);
    if (config == NULL || config->host == NULL || config->host[0] == '\0') {
        dossier_error_set(err, DOSSIER_ERR_INVALID, DOSSIER_CODE_INVALID_ARGUMENT,
                          "the configuration needs a host");
        return NULL;
    }
    dossier_client *c = calloc(1, sizeof *c);
    if (c == NULL) {
        dossier_error_set(err, DOSSIER_ERR_INVALID, DOSSIER_CODE_RESOURCE_EXHAUSTED,
                          "out of memory");
        return NULL;
    }
    pthread_mutex_init(&c->mutex, NULL);
    c->transport.fd = -1;
    c->port = config->port != 0 ? config->port : DOSSIER_DEFAULT_PORT;
    c->connect_timeout_ms = config->connect_timeout_ms > 0 ? config->connect_timeout_ms
                                                           : DOSSIER_DEFAULT_CONNECT_TIMEOUT_MS;
    c->call_timeout_ms = config->call_timeout_ms == 0 ? DOSSIER_DEFAULT_CALL_TIMEOUT_MS
                         : config->call_timeout_ms < 0 ? DOSSIER_TIMEOUT_NONE
                                                       : config->call_timeout_ms;
    c->grace_ms = config->deadline_grace_ms == 0 ? DOSSIER_DEFAULT_GRACE_MS
                  : config->deadline_grace_ms < 0 ? 0
                                                  : config->deadline_grace_ms;
    c->host = dup_string(config->host);
    c->server_name = dup_string(config->server_name != NULL ? config->server_name : config->host);
    c->transport.bio_method = dossier_bio_method_new();
    if (c->host == NULL || c->server_name == NULL || c->transport.bio_method == NULL) {
        dossier_error_set(err, DOSSIER_ERR_INVALID, DOSSIER_CODE_RESOURCE_EXHAUSTED,
                          "out of memory");
        client_destroy(c);
        return NULL;
    }
    c->ctx = dossier_tls_context_new(config, err);
    if (c->ctx == NULL || connect_now(c, DOSSIER_DEADLINE_NONE, err) != 0) {
        client_destroy(c);
        return NULL;
    }
    return c;
}

dossier_client *dossier_client_new(const dossier_config *config, dossier_error *err)
{
    /* No client to keep the outcome in: dossier_client_last_error(NULL) gives it. */
    dossier_error local;
    if (err == NULL)
        err = &local;
    dossier_client *c = client_new(config, err);
    dossier_set_last_error(NULL, err);
    return c;
}

void dossier_client_free(dossier_client *client)
{
    if (client != NULL)
        client_destroy(client);
}

void dossier_client_disconnect(dossier_client *c)
{
    dossier_transport_close(&c->transport);
    dossier_frame_reader_reset(&c->reader);
}

int dossier_client_ensure_connected(dossier_client *c, int64_t deadline_ms, dossier_error *err)
{
    if (c->transport.fd >= 0 && c->next_stream_id <= UINT32_MAX) {
        /* Still alive? Read what is pending (late answers are skipped); a closed connection
         * (e.g. the server's idle timeout) is replaced before sending, so that no call is
         * lost to it. A TLS alert (certificate refused) is the caller's answer. */
        c->reader.wanted_stream = 0;
        uint8_t buf[16384];
        long n;
        dossier_error check;
        while ((n = dossier_transport_read(&c->transport, buf, sizeof buf,
                                           DOSSIER_DEADLINE_NOWAIT, 0, &check)) > 0) {
            if (dossier_frame_reader_feed(&c->reader, buf, (size_t)n, &check) != 0) {
                n = -1;
                break;
            }
        }
        if (n == 0)
            return 0;
        dossier_client_disconnect(c);
        if (check.kind == DOSSIER_ERR_TLS || check.kind == DOSSIER_ERR_PROTOCOL) {
            if (err != NULL)
                *err = check;
            return -1;
        }
    } else if (c->transport.fd >= 0) {
        dossier_client_disconnect(c); /* stream ids used up */
    }
    return connect_now(c, deadline_ms, err) == 0 ? 1 : -1;
}

int dossier_client_call_opts(dossier_client *client, const char *service, const char *method,
                             const ProtobufCMessage *req,
                             const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
                             const dossier_call_options *opts, dossier_error *err)
{
    dossier_error local;
    if (err == NULL)
        err = &local;
    dossier_error_clear(err);
    if (resp != NULL)
        *resp = NULL;
    if (client == NULL || service == NULL || method == NULL || req == NULL ||
        resp_desc == NULL || resp == NULL) {
        dossier_error_set(err, DOSSIER_ERR_INVALID, DOSSIER_CODE_INVALID_ARGUMENT,
                          "dossier_client_call: a required argument is NULL");
        if (client != NULL)
            pthread_mutex_lock(&client->mutex);
        dossier_set_last_error(client, err);
        if (client != NULL)
            pthread_mutex_unlock(&client->mutex);
        return -1;
    }
    dossier_call_options defaults;
    memset(&defaults, 0, sizeof defaults);
    pthread_mutex_lock(&client->mutex);
    int rc = dossier_call_locked(client, service, method, req, resp_desc, resp,
                                 opts != NULL ? opts : &defaults, err);
    if (rc != 0 && err->kind == DOSSIER_OK) /* never report a failure as OK */
        dossier_error_set(err, DOSSIER_ERR_PROTOCOL, DOSSIER_CODE_INTERNAL, "call failed");
    dossier_set_last_error(client, err);
    pthread_mutex_unlock(&client->mutex);
    return rc;
}

int dossier_client_call(dossier_client *client, const char *service, const char *method,
                        const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
                        ProtobufCMessage **resp, int timeout_ms, dossier_error *err)
{
    dossier_call_options opts;
    memset(&opts, 0, sizeof opts);
    opts.timeout_ms = timeout_ms;
    return dossier_client_call_opts(client, service, method, req, resp_desc, resp, &opts, err);
}
