/* Internal declarations of the Dossier C client (not installed). */
#ifndef DOSSIER_CLIENT_INTERNAL_H
#define DOSSIER_CLIENT_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "dossier/client.h"

/* ttrpc limits (docs/PROTOCOL.md, sections 4 and 8). */
#define DOSSIER_FRAME_HEADER_SIZE 10
#define DOSSIER_MAX_FRAME_BYTES (4u * 1024u * 1024u)
#define DOSSIER_FRAME_REQUEST 1
#define DOSSIER_FRAME_RESPONSE 2

#define DOSSIER_DEFAULT_PORT 7443
#define DOSSIER_DEFAULT_CONNECT_TIMEOUT_MS 10000
#define DOSSIER_DEFAULT_CALL_TIMEOUT_MS 30000
#define DOSSIER_DEFAULT_GRACE_MS 1000

/* Monotonic time in milliseconds. Deadlines are absolute values of it, or one of these: */
#define DOSSIER_DEADLINE_NONE (-1)    /* wait as long as it takes */
#define DOSSIER_DEADLINE_NOWAIT (-2)  /* do not wait at all */
int64_t dossier_now_ms(void);
int dossier_remaining_ms(int64_t deadline_ms); /* for poll(): -1 = forever, >= 0 */

/* --- error.c --- */
void dossier_error_clear(dossier_error *err);
void dossier_error_set(dossier_error *err, dossier_error_kind kind, int grpc_code,
                       const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
/* Appends OpenSSL's error queue (and clears it) to err->message. */
void dossier_error_append_openssl(dossier_error *err);
/* Fills err from a google.rpc.Status (NULL = OK). Returns 0 when the status is OK. */
struct Google__Rpc__Status;
int dossier_error_from_status(dossier_error *err, const struct Google__Rpc__Status *status);
/* Records the outcome of a call for dossier_client_last_error(): in the client (the caller
 * holds its mutex) or, when there is no client (NULL; a failed dossier_client_new), in the
 * calling thread's own slot. err NULL = OK. */
void dossier_set_last_error(dossier_client *client, const dossier_error *err);

/* --- transport.c: one TLS connection over a non-blocking socket --- */
typedef struct dossier_transport {
    int fd;                  /* -1 when closed */
    SSL *ssl;
    int failed;              /* a fatal TLS/socket error occurred: no close_notify */
    BIO_METHOD *bio_method;  /* the client's; kept across reconnections */
} dossier_transport;

/* A socket BIO that never raises SIGPIPE (send with MSG_NOSIGNAL); freed with BIO_meth_free. */
BIO_METHOD *dossier_bio_method_new(void);

/* SSL_CTX with TLS 1.3, peer verification, CA bundle and client certificate from config. */
SSL_CTX *dossier_tls_context_new(const dossier_config *config, dossier_error *err);
/* Resolves host, connects and does the TLS handshake, all by deadline_ms (an absolute
 * dossier_now_ms() value). t->bio_method must be set. */
int dossier_transport_connect(dossier_transport *t, SSL_CTX *ctx, const char *host,
                              uint16_t port, const char *server_name, int64_t deadline_ms,
                              dossier_error *err);
void dossier_transport_close(dossier_transport *t);
/* Writes all of buf. While waiting to write, *on_readable is called if the socket is readable
 * (the client keeps reading while it writes). Returns 0, or -1 with err filled. */
typedef int (*dossier_readable_fn)(void *ctx, dossier_error *err);
int dossier_transport_write(dossier_transport *t, const uint8_t *buf, size_t len,
                            int64_t deadline_ms, dossier_readable_fn on_readable, void *ctx,
                            int request_sent, dossier_error *err);
/* Reads up to len bytes. Returns > 0 bytes read; 0 when nothing is available and deadline_ms
 * is DOSSIER_DEADLINE_NOWAIT; -1 with err filled (connection ended, TLS error, or kind TIMEOUT
 * when the deadline passed). */
long dossier_transport_read(dossier_transport *t, uint8_t *buf, size_t len, int64_t deadline_ms,
                            int request_sent, dossier_error *err);

/* --- resolve.c: name resolution bounded by a deadline --- */
struct addrinfo;
/* getaddrinfo(host, port) for TCP, returning by deadline_ms: a numeric address at once, a name
 * looked up in a helper thread (left to finish on its own if the deadline passes). Returns 0
 * and *list (to freeaddrinfo), or -1 with err filled (CONNECTION; TIMEOUT at the deadline). */
int dossier_resolve(const char *host, uint16_t port, int64_t deadline_ms,
                    struct addrinfo **list, dossier_error *err);

/* --- framing.c: frame encoding and the incremental frame reader --- */
typedef struct dossier_frame_reader {
    uint8_t header[DOSSIER_FRAME_HEADER_SIZE];
    size_t header_have;
    uint32_t length;    /* of the frame being read */
    uint32_t stream_id;
    uint8_t type;
    int keep;           /* payload is kept (the awaited response), else skipped */
    uint8_t *payload;
    size_t payload_have;
    /* The frame the reader waits for: a Response with this stream id (0 = none). */
    uint32_t wanted_stream;
    /* Set when the wanted response is complete: its payload (malloc'd) and length. */
    int done;
    uint8_t *done_payload;
    size_t done_length;
} dossier_frame_reader;

void dossier_frame_header_encode(uint8_t out[DOSSIER_FRAME_HEADER_SIZE], uint32_t length,
                                 uint32_t stream_id, uint8_t type, uint8_t flags);
void dossier_frame_reader_reset(dossier_frame_reader *r);
/* Feeds received bytes. Frames of other streams or types are skipped. Returns 0, or -1 with
 * err filled (oversized frame: kind PROTOCOL) — the connection must then be closed. */
int dossier_frame_reader_feed(dossier_frame_reader *r, const uint8_t *data, size_t len,
                              dossier_error *err);
/* True when between frames (no partial frame buffered). */
int dossier_frame_reader_idle(const dossier_frame_reader *r);

/* --- client.c --- */
typedef struct dossier_service {
    ProtobufCService base;
    dossier_client *client;
} dossier_service;

struct dossier_client {
    pthread_mutex_t mutex;
    SSL_CTX *ctx;
    char *host;
    char *server_name;
    uint16_t port;
    int connect_timeout_ms;
    int call_timeout_ms;
    int grace_ms;
    dossier_transport transport; /* fd < 0 when not connected */
    dossier_frame_reader reader;
    uint64_t next_stream_id;     /* odd, increasing per connection; > UINT32_MAX: reconnect */
    dossier_service **services;
    size_t n_services;
    dossier_error last_error;    /* outcome of the latest call on this client (under mutex) */
};

/* Connects if needed (after checking that an open connection is still alive), by the earlier
 * of deadline_ms (the call's, DOSSIER_DEADLINE_NONE = none) and connect_timeout_ms from now.
 * Returns 0 when the connection was open, 1 when it was (re)opened now, -1 on failure. Caller
 * holds the mutex. */
int dossier_client_ensure_connected(dossier_client *c, int64_t deadline_ms, dossier_error *err);
void dossier_client_disconnect(dossier_client *c);

/* --- call.c --- */
int dossier_call_locked(dossier_client *c, const char *service, const char *method,
                        const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
                        ProtobufCMessage **resp, const dossier_call_options *opts,
                        dossier_error *err);

#endif
