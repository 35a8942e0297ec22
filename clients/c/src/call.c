/* Calls: the ttrpc Request envelope, sending it, waiting for the Response of our stream id,
 * decoding status and payload; and the ProtobufCService glue for the protoc-c stubs. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#include "google/rpc/status.pb-c.h"
#include "ttrpc/ttrpc.pb-c.h"

/* Reads what is available without waiting and feeds it to the frame reader. */
static int pump_available(void *ctx, dossier_error *err)
{
    dossier_client *c = ctx;
    uint8_t buf[16384];
    for (;;) {
        long n = dossier_transport_read(&c->transport, buf, sizeof buf, DOSSIER_DEADLINE_NOWAIT,
                                        1, err);
        if (n < 0)
            return -1;
        if (n == 0)
            return 0;
        if (dossier_frame_reader_feed(&c->reader, buf, (size_t)n, err) != 0)
            return -1;
    }
}

/* The ttrpc Request frame (header + envelope), malloc'd. */
static uint8_t *encode_request(const char *service, const char *method,
                               const ProtobufCMessage *req, int64_t timeout_nano,
                               const char *request_id, uint32_t stream_id, size_t *out_len,
                               dossier_error *err)
{
    size_t payload_len = protobuf_c_message_get_packed_size(req);
    if (payload_len > DOSSIER_MAX_FRAME_BYTES) {
        dossier_error_set(err, DOSSIER_ERR_INVALID, DOSSIER_CODE_RESOURCE_EXHAUSTED,
                          "request message of %zu bytes exceeds the frame limit of %u bytes",
                          payload_len, (unsigned)DOSSIER_MAX_FRAME_BYTES);
        return NULL;
    }
    uint8_t *payload = malloc(payload_len > 0 ? payload_len : 1);
    if (payload == NULL) {
        dossier_error_set(err, DOSSIER_ERR_INVALID, DOSSIER_CODE_RESOURCE_EXHAUSTED,
                          "out of memory");
        return NULL;
    }
    protobuf_c_message_pack(req, payload);

    Ttrpc__Request envelope = TTRPC__REQUEST__INIT;
    Ttrpc__KeyValue kv = TTRPC__KEY_VALUE__INIT;
    Ttrpc__KeyValue *metadata[1] = {&kv};
    envelope.service = (char *)service;
    envelope.method = (char *)method;
    envelope.payload.data = payload;
    envelope.payload.len = payload_len;
    envelope.timeout_nano = timeout_nano;
    if (request_id != NULL) {
        kv.key = "request-id";
        kv.value = (char *)request_id;
        envelope.n_metadata = 1;
        envelope.metadata = metadata;
    }
    size_t envelope_len = ttrpc__request__get_packed_size(&envelope);
    uint8_t *frame = NULL;
    if (envelope_len > DOSSIER_MAX_FRAME_BYTES) {
        dossier_error_set(err, DOSSIER_ERR_INVALID, DOSSIER_CODE_RESOURCE_EXHAUSTED,
                          "request of %zu bytes exceeds the frame limit of %u bytes",
                          envelope_len, (unsigned)DOSSIER_MAX_FRAME_BYTES);
    } else if ((frame = malloc(DOSSIER_FRAME_HEADER_SIZE + envelope_len)) == NULL) {
        dossier_error_set(err, DOSSIER_ERR_INVALID, DOSSIER_CODE_RESOURCE_EXHAUSTED,
                          "out of memory");
    } else {
        dossier_frame_header_encode(frame, (uint32_t)envelope_len, stream_id,
                                    DOSSIER_FRAME_REQUEST, 0);
        ttrpc__request__pack(&envelope, frame + DOSSIER_FRAME_HEADER_SIZE);
        *out_len = DOSSIER_FRAME_HEADER_SIZE + envelope_len;
    }
    free(payload);
    return frame;
}

/* Decodes the Response envelope: status, then the payload as resp_desc. */
static int decode_response(dossier_client *c, const uint8_t *data, size_t len,
                           const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
                           dossier_error *err)
{
    Ttrpc__Response *r = ttrpc__response__unpack(NULL, len, data);
    if (r == NULL) {
        dossier_error_set(err, DOSSIER_ERR_PROTOCOL, DOSSIER_CODE_INTERNAL,
                          "the server's answer is not a ttrpc.Response");
        dossier_client_disconnect(c);
        return -1;
    }
    int rc = dossier_error_from_status(err, r->status);
    if (rc == 0) {
        *resp = protobuf_c_message_unpack(resp_desc, NULL, r->payload.len, r->payload.data);
        if (*resp == NULL) {
            dossier_error_set(err, DOSSIER_ERR_PROTOCOL, DOSSIER_CODE_INTERNAL,
                              "the response payload does not decode as %s", resp_desc->name);
            rc = -1;
        }
    }
    ttrpc__response__free_unpacked(r, NULL);
    return rc;
}

int dossier_call_locked(dossier_client *c, const char *service, const char *method,
                        const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
                        ProtobufCMessage **resp, const dossier_call_options *opts,
                        dossier_error *err)
{
    /* The deadline: sent as timeout_nano, and waited for locally with a grace period. */
    int64_t timeout_nano;
    int64_t wait_ms; /* < 0: unbounded */
    if (opts->use_timeout_ns) {
        timeout_nano = opts->timeout_ns;
        wait_ms = timeout_nano == 0 ? -1
                  : timeout_nano < 0 ? 0
                                     : (timeout_nano + 999999) / 1000000;
    } else {
        int ms = opts->timeout_ms == DOSSIER_TIMEOUT_DEFAULT ? c->call_timeout_ms : opts->timeout_ms;
        timeout_nano = ms > 0 ? (int64_t)ms * 1000000 : 0;
        wait_ms = ms > 0 ? ms : -1;
    }
    /* The deadline covers a reconnection (resolve, TCP, TLS) as well as the call itself. */
    int64_t start = dossier_now_ms();
    int64_t call_deadline = wait_ms < 0 ? DOSSIER_DEADLINE_NONE : start + wait_ms;
    int connected = dossier_client_ensure_connected(c, call_deadline, err);
    if (connected < 0)
        return -1;
    if (connected > 0 && timeout_nano > 0) {
        /* What reconnecting took comes off the timeout sent (at least 1 ns: 0 means none). */
        int64_t spent_nano = (dossier_now_ms() - start) * 1000000;
        timeout_nano = timeout_nano > spent_nano ? timeout_nano - spent_nano : 1;
    }
    /* Waiting for the answer: the server's own DEADLINE_EXCEEDED may take the grace period. */
    int64_t deadline = call_deadline == DOSSIER_DEADLINE_NONE ? DOSSIER_DEADLINE_NONE
                                                              : call_deadline + c->grace_ms;

    uint32_t stream_id = (uint32_t)c->next_stream_id;
    size_t frame_len = 0;
    uint8_t *frame = encode_request(service, method, req, timeout_nano, opts->request_id,
                                    stream_id, &frame_len, err);
    if (frame == NULL)
        return -1;
    c->next_stream_id += 2;

    dossier_frame_reader *reader = &c->reader;
    free(reader->done_payload);
    reader->done_payload = NULL;
    reader->done = 0;
    reader->wanted_stream = stream_id;

    int rc = dossier_transport_write(&c->transport, frame, frame_len, deadline, pump_available, c,
                                     0, err);
    free(frame);
    if (rc != 0) {
        /* A frame half sent (or a broken connection): this connection cannot go on. */
        dossier_client_disconnect(c);
        return -1;
    }
    uint8_t buf[16384];
    while (!reader->done) {
        long n = dossier_transport_read(&c->transport, buf, sizeof buf, deadline, 1, err);
        if (n < 0 || dossier_frame_reader_feed(reader, buf, (size_t)n, err) != 0) {
            if (n < 0 && err != NULL && err->kind == DOSSIER_ERR_TIMEOUT) {
                /* Keep the connection: the late answer will be skipped by stream id. */
                reader->wanted_stream = 0;
                if (reader->keep) { /* its frame is being read: skip the rest */
                    free(reader->payload);
                    reader->payload = NULL;
                    reader->keep = 0;
                }
            } else {
                dossier_client_disconnect(c);
            }
            return -1;
        }
    }
    uint8_t *payload = reader->done_payload;
    size_t payload_len = reader->done_length;
    reader->done_payload = NULL;
    reader->done = 0;
    rc = decode_response(c, payload, payload_len, resp_desc, resp, err);
    free(payload);
    return rc;
}

/* --- ProtobufCService for the protoc-c stubs ---------------------------------------------- */

static void service_invoke(ProtobufCService *service, unsigned method_index,
                           const ProtobufCMessage *input, ProtobufCClosure closure,
                           void *closure_data)
{
    dossier_service *s = (dossier_service *)service;
    const ProtobufCServiceDescriptor *d = service->descriptor;
    ProtobufCMessage *resp = NULL;
    dossier_error err;
    if (method_index >= d->n_methods || input == NULL ||
        input->descriptor != d->methods[method_index].input) {
        dossier_error_set(&err, DOSSIER_ERR_INVALID, DOSSIER_CODE_INVALID_ARGUMENT,
                          "invalid method index or input message for %s", d->name);
        pthread_mutex_lock(&s->client->mutex);
        dossier_set_last_error(s->client, &err);
        pthread_mutex_unlock(&s->client->mutex);
    } else {
        const ProtobufCMethodDescriptor *m = &d->methods[method_index];
        dossier_client_call(s->client, d->name, m->name, input, m->output, &resp,
                            DOSSIER_TIMEOUT_DEFAULT, &err);
    }
    if (closure != NULL)
        closure(resp, closure_data);
    if (resp != NULL)
        protobuf_c_message_free_unpacked(resp, NULL);
}

static void service_destroy(ProtobufCService *service)
{
    (void)service; /* owned by the client, freed by dossier_client_free */
}

ProtobufCService *dossier_client_service(dossier_client *c,
                                         const ProtobufCServiceDescriptor *descriptor)
{
    if (c == NULL || descriptor == NULL)
        return NULL;
    pthread_mutex_lock(&c->mutex);
    ProtobufCService *found = NULL;
    for (size_t i = 0; i < c->n_services && found == NULL; i++)
        if (c->services[i]->base.descriptor == descriptor)
            found = &c->services[i]->base;
    if (found == NULL) {
        dossier_service **grown = realloc(c->services, (c->n_services + 1) * sizeof *grown);
        dossier_service *s = grown != NULL ? calloc(1, sizeof *s) : NULL;
        if (grown != NULL)
            c->services = grown;
        if (s != NULL) {
            s->base.descriptor = descriptor;
            s->base.invoke = service_invoke;
            s->base.destroy = service_destroy;
            s->client = c;
            c->services[c->n_services++] = s;
            found = &s->base;
        }
    }
    pthread_mutex_unlock(&c->mutex);
    return found;
}
