/*
 * Dossier C client: calls a dossierd server (ttrpc 1.0 unary calls over mutual TLS 1.3, see
 * docs/PROTOCOL.md) with the protobuf-c messages generated from proto/dossier/v1.
 *
 * Two ways to call:
 *   - dossier_client_call(): generic, by service and method name, returns the response or an
 *     error in a dossier_error;
 *   - the protoc-c stubs (e.g. dossier__v1__health__check) on the ProtobufCService returned by
 *     dossier_client_service(); the closure runs before the stub returns and gets NULL on
 *     failure, then dossier_client_last_error() tells why.
 *
 * Thread safety: a dossier_client may be shared between threads. It owns one TLS connection
 * and an internal mutex serializes calls: one call is on the wire at a time. For parallel
 * calls, use one client per thread. dossier_client_last_error() is per client: with a shared
 * client, another thread's call replaces it (there, use the err of dossier_client_call()).
 *
 * Timeouts: every call has a timeout (the client's default, or the one passed). It is sent to
 * the server as the ttrpc `timeout_nano` (the server answers DEADLINE_EXCEEDED when it passes)
 * and also enforced locally: the client waits at most timeout + deadline_grace_ms for the
 * answer, then fails with DOSSIER_ERR_TIMEOUT (grpc_code DEADLINE_EXCEEDED). Either way the
 * operation may or may not have taken effect. When a call has to reconnect first, the timeout
 * covers that too (name resolution, TCP connect, TLS handshake: at most connect_timeout_ms),
 * and what it took is deducted from the timeout_nano sent. Name resolution is bounded as well:
 * a host name is looked up in a short-lived helper thread that the client stops waiting for at
 * the deadline; a numeric address needs no lookup.
 */
#ifndef DOSSIER_CLIENT_H
#define DOSSIER_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DOSSIER_CLIENT_VERSION "0.1.0"

/* Exported from the shared library (the library's own sources are built with hidden
 * visibility). */
#if defined(__GNUC__) || defined(__clang__)
#define DOSSIER_API __attribute__((visibility("default")))
#else
#define DOSSIER_API
#endif

/* --- Errors ------------------------------------------------------------------------------ */

typedef enum dossier_error_kind {
    DOSSIER_OK = 0,
    /* The call reached the server, which answered with a non-OK google.rpc.Status:
     * grpc_code, message, and reason/field from the dossier.v1.ErrorDetail when present. */
    DOSSIER_ERR_STATUS,
    /* TLS failed: server certificate not trusted or not for server_name, handshake failure,
     * or the server refused our certificate (then tls_alert is set, e.g. 116
     * certificate_required, 48 unknown_ca, and grpc_code is UNAUTHENTICATED). */
    DOSSIER_ERR_TLS,
    /* TCP connect failed, or the connection was closed or reset. If the request had been sent
     * grpc_code is DEADLINE_EXCEEDED (it may have taken effect), else UNAVAILABLE. */
    DOSSIER_ERR_CONNECTION,
    /* The connect/handshake timeout or the call's local deadline passed (DEADLINE_EXCEEDED). */
    DOSSIER_ERR_TIMEOUT,
    /* The server sent something that is not valid ttrpc (oversized frame, undecodable
     * Response or response payload). The connection is closed (INTERNAL). */
    DOSSIER_ERR_PROTOCOL,
    /* Invalid arguments or configuration (unreadable certificate, unknown method, request over
     * the 4 MiB frame limit, out of memory): nothing was sent (INVALID_ARGUMENT). */
    DOSSIER_ERR_INVALID
} dossier_error_kind;

/* gRPC status codes (google.rpc.Code). */
enum {
    DOSSIER_CODE_OK = 0,
    DOSSIER_CODE_CANCELLED = 1,
    DOSSIER_CODE_UNKNOWN = 2,
    DOSSIER_CODE_INVALID_ARGUMENT = 3,
    DOSSIER_CODE_DEADLINE_EXCEEDED = 4,
    DOSSIER_CODE_NOT_FOUND = 5,
    DOSSIER_CODE_ALREADY_EXISTS = 6,
    DOSSIER_CODE_PERMISSION_DENIED = 7,
    DOSSIER_CODE_RESOURCE_EXHAUSTED = 8,
    DOSSIER_CODE_FAILED_PRECONDITION = 9,
    DOSSIER_CODE_ABORTED = 10,
    DOSSIER_CODE_OUT_OF_RANGE = 11,
    DOSSIER_CODE_UNIMPLEMENTED = 12,
    DOSSIER_CODE_INTERNAL = 13,
    DOSSIER_CODE_UNAVAILABLE = 14,
    DOSSIER_CODE_DATA_LOSS = 15,
    DOSSIER_CODE_UNAUTHENTICATED = 16
};

/* Caller-allocated, no heap memory: copy it, reuse it, nothing to free. Strings are
 * NUL-terminated (truncated if longer). */
typedef struct dossier_error {
    dossier_error_kind kind;
    /* The server's code for DOSSIER_ERR_STATUS; the closest code for local errors (see the
     * kinds); 0 when kind is DOSSIER_OK. Programs may branch on it whatever the kind. */
    int grpc_code;
    /* For DOSSIER_ERR_TLS when the server refused our certificate: the TLS alert received
     * (116, 48, 45, 42, ...); otherwise 0. */
    int tls_alert;
    /* English, for developers: the server's status message, or a description of the failure. */
    char message[512];
    /* From dossier.v1.ErrorDetail, empty when absent (e.g. "INVALID_PATIENT_ID"). */
    char reason[64];
    char field[64];
} dossier_error;

/* "OK", "STATUS", "TLS", "CONNECTION", "TIMEOUT", "PROTOCOL", "INVALID". */
DOSSIER_API const char *dossier_error_kind_name(dossier_error_kind kind);
/* "OK", "INVALID_ARGUMENT", ... ; "UNKNOWN_CODE" for codes outside 0..16. */
DOSSIER_API const char *dossier_grpc_code_name(int code);
/* One line: "PERMISSION_DENIED: permission denied [reason PERMISSION_DENIED]" etc. Returns buf. */
DOSSIER_API const char *dossier_error_format(const dossier_error *err, char *buf, size_t size);

/* --- Client ------------------------------------------------------------------------------ */

typedef struct dossier_client dossier_client;

/* Zero-initialise with dossier_config_init(), then set fields. Strings are copied by
 * dossier_client_new(); PEM buffers are read during dossier_client_new() only. For each of the
 * CA bundle, certificate and key give a file (…_file) or an in-memory PEM buffer (…_pem, with
 * its length; 0 = NUL-terminated), not both. */
typedef struct dossier_config {
    const char *host;        /* required: name or address to connect to */
    uint16_t port;           /* 0 = 7443 */
    const char *server_name; /* name the server certificate must carry (and SNI); NULL = host */

    const char *ca_file;     /* CA bundle trusted for the server; none: the system's default paths */
    const char *ca_pem;
    size_t ca_pem_len;

    const char *cert_file;   /* client certificate chain (leaf first); none: no client certificate
                              * (the server then refuses the connection) */
    const char *cert_pem;
    size_t cert_pem_len;
    const char *key_file;    /* its private key (unencrypted PEM) */
    const char *key_pem;
    size_t key_pem_len;

    int connect_timeout_ms;  /* name resolution + TCP connect + TLS handshake (in a call's
                              * reconnection: the earlier of this and the call's deadline);
                              * 0 = 10000 */
    int call_timeout_ms;     /* default per call; 0 = 30000; < 0 = no deadline */
    int deadline_grace_ms;   /* extra local wait after a call's deadline for the server's own
                              * DEADLINE_EXCEEDED answer; 0 = 1000; < 0 = none */
} dossier_config;

DOSSIER_API void dossier_config_init(dossier_config *config);

/* Creates a client and connects (TCP + TLS handshake). On failure returns NULL and fills *err
 * (err may be NULL; the outcome is also kept for dossier_client_last_error(NULL)). With TLS 1.3 a server that refuses our certificate is noticed only at the
 * first call (DOSSIER_ERR_TLS, tls_alert set). If the connection is lost later, the next call
 * reconnects first; a call is never re-sent automatically. */
DOSSIER_API dossier_client *dossier_client_new(const dossier_config *config, dossier_error *err);

/* Closes the connection (TLS close_notify) and frees everything, including the services
 * returned by dossier_client_service(). NULL is a no-op. */
DOSSIER_API void dossier_client_free(dossier_client *client);

/* Timeout values for dossier_client_call(). */
#define DOSSIER_TIMEOUT_DEFAULT 0    /* the client's call_timeout_ms */
#define DOSSIER_TIMEOUT_NONE (-1)    /* no deadline (timeout_nano 0, local wait unbounded) */

/* Calls service/method (e.g. "dossier.v1.Health", "Check") with the request message `req`.
 * On success returns 0 and sets *resp to a new message of type resp_desc, to be freed with
 * protobuf_c_message_free_unpacked(*resp, NULL). On failure returns -1, sets *resp to NULL and
 * fills *err (err may be NULL; the error is also kept for dossier_client_last_error()).
 * timeout_ms > 0, DOSSIER_TIMEOUT_DEFAULT or DOSSIER_TIMEOUT_NONE. */
DOSSIER_API
int dossier_client_call(dossier_client *client, const char *service, const char *method,
                        const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
                        ProtobufCMessage **resp, int timeout_ms, dossier_error *err);

/* Per-call options for dossier_client_call_opts(). Zero-initialise. */
typedef struct dossier_call_options {
    /* When use_timeout_ns is set: timeout_nano sent as is (0 = no deadline, negative = already
     * expired, answered DEADLINE_EXCEEDED by the server), local wait = max(0, timeout_ns) +
     * grace. A reconnection must fit in max(0, timeout_ns) and its time is deducted from the
     * timeout_nano sent. Otherwise timeout_ms as in dossier_client_call(). */
    int timeout_ms;
    int use_timeout_ns;
    int64_t timeout_ns;
    /* ttrpc metadata "request-id" (1 to 128 printable ASCII characters, no personal data), for
     * correlation with the server's log; NULL = none. */
    const char *request_id;
} dossier_call_options;

DOSSIER_API
int dossier_client_call_opts(dossier_client *client, const char *service, const char *method,
                             const ProtobufCMessage *req,
                             const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
                             const dossier_call_options *opts, dossier_error *err);

/* The ProtobufCService for a generated service descriptor, to pass to its protoc-c stubs, e.g.
 *   ProtobufCService *health = dossier_client_service(c, &dossier__v1__health__descriptor);
 *   dossier__v1__health__check(health, &req, on_check, &state);
 * The stub runs the call synchronously (client's default timeout) and calls the closure before
 * returning: with the response (valid only during the closure; the client frees it afterwards)
 * or with NULL on failure (then see dossier_client_last_error()). Owned by the client: do not
 * call protobuf_c_service_destroy() on it. NULL if out of memory. */
DOSSIER_API
ProtobufCService *dossier_client_service(dossier_client *client,
                                         const ProtobufCServiceDescriptor *descriptor);

/* The outcome of the most recent call on `client` (kind DOSSIER_OK after a success, and
 * before any call), kept in the client: calls on other clients do not change it. Valid until
 * the next call on `client` or dossier_client_free(); when threads share the client, another
 * thread's call replaces it at any time, so read it only where no other thread calls (one
 * client per thread, or the err argument of dossier_client_call()).
 * With client NULL: the outcome of the calling thread's latest dossier_client_new() or call
 * on a NULL client (no client exists to keep it; per thread), valid until its next one. */
DOSSIER_API const dossier_error *dossier_client_last_error(const dossier_client *client);

#ifdef __cplusplus
}
#endif

#endif /* DOSSIER_CLIENT_H */
