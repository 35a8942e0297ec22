/* Transport: TCP connect with a timeout, TLS 1.3 with peer verification (OpenSSL), reads and
 * writes on a non-blocking socket bounded by deadlines. */
#define _POSIX_C_SOURCE 200809L
#define _DARWIN_C_SOURCE /* macOS: SO_NOSIGPIPE */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "internal.h"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* macOS: SO_NOSIGPIPE is set on the socket instead */
#endif

/* --- time -------------------------------------------------------------------------------- */

int64_t dossier_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int dossier_remaining_ms(int64_t deadline_ms)
{
    if (deadline_ms == DOSSIER_DEADLINE_NONE)
        return -1;
    if (deadline_ms == DOSSIER_DEADLINE_NOWAIT)
        return 0;
    int64_t left = deadline_ms - dossier_now_ms();
    if (left <= 0)
        return 0;
    return left > 1000000000 ? 1000000000 : (int)left;
}

/* Waits for events on fd until the deadline. Returns the revents, 0 on timeout, -1 on error. */
static int wait_fd(int fd, short events, int64_t deadline_ms)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = events, .revents = 0};
        int r = poll(&p, 1, dossier_remaining_ms(deadline_ms));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r;
        return p.revents;
    }
}

/* --- a socket BIO without SIGPIPE --------------------------------------------------------- */

static int bio_fd(BIO *b) { return (int)(intptr_t)BIO_get_data(b); }

static int bio_write(BIO *b, const char *buf, int len)
{
    BIO_clear_retry_flags(b);
    ssize_t n = send(bio_fd(b), buf, (size_t)len, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        BIO_set_retry_write(b);
    return (int)n;
}

static int bio_read(BIO *b, char *buf, int len)
{
    BIO_clear_retry_flags(b);
    ssize_t n = recv(bio_fd(b), buf, (size_t)len, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        BIO_set_retry_read(b);
    return (int)n;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b;
    (void)num;
    (void)ptr;
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int bio_create(BIO *b)
{
    BIO_set_init(b, 0);
    return 1;
}

static int bio_destroy(BIO *b)
{
    (void)b; /* the socket is closed by dossier_transport_close */
    return 1;
}

BIO_METHOD *dossier_bio_method_new(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR,
                                 "dossier socket");
    if (m == NULL)
        return NULL;
    if (!BIO_meth_set_write(m, bio_write) || !BIO_meth_set_read(m, bio_read) ||
        !BIO_meth_set_ctrl(m, bio_ctrl) || !BIO_meth_set_create(m, bio_create) ||
        !BIO_meth_set_destroy(m, bio_destroy)) {
        BIO_meth_free(m);
        return NULL;
    }
    return m;
}

/* --- TLS context ------------------------------------------------------------------------- */

static BIO *pem_bio(const char *pem, size_t len)
{
    return BIO_new_mem_buf(pem, len == 0 ? -1 : (int)len);
}

static int load_ca(SSL_CTX *ctx, const dossier_config *cfg, dossier_error *err)
{
    if (cfg->ca_file != NULL) {
        if (SSL_CTX_load_verify_locations(ctx, cfg->ca_file, NULL) != 1) {
            dossier_error_set(err, DOSSIER_ERR_INVALID, DOSSIER_CODE_INVALID_ARGUMENT,
                              "cannot load the CA bundle %s", cfg->ca_file);
            return -1;
        }
        return 0;
    }
    if (cfg->ca_pem == NULL)
        return SSL_CTX_set_default_verify_paths(ctx) == 1 ? 0 : -1;
    BIO *bio = pem_bio(cfg->ca_pem, cfg->ca_pem_len);
    X509_STORE *store = SSL_CTX_get_cert_store(ctx);
    int count = 0;
    X509 *x;
    while (bio != NULL && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        if (X509_STORE_add_cert(store, x) == 1)
            count++;
        X509_free(x);
    }
    BIO_free(bio);
    ERR_clear_error(); /* the read loop ends with a "no start line" error */
    if (count == 0) {
        dossier_error_set(err, DOSSIER_ERR_INVALID, DOSSIER_CODE_INVALID_ARGUMENT,
                          "no certificate in the CA PEM buffer");
        return -1;
    }
    return 0;
}

static int load_cert_pem(SSL_CTX *ctx, const char *pem, size_t len)
{
    BIO *bio = pem_bio(pem, len);
    if (bio == NULL)
        return -1;
    int ok = -1;
    X509 *leaf = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    if (leaf != NULL && SSL_CTX_use_certificate(ctx, leaf) == 1) {
        ok = 0;
        X509 *x;
        while (ok == 0 && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
            if (SSL_CTX_add0_chain_cert(ctx, x) != 1) { /* takes ownership on success */
                X509_free(x);
                ok = -1;
            }
        }
        if (ok == 0)
            ERR_clear_error();
    }
    X509_free(leaf);
    BIO_free(bio);
    return ok;
}

static int load_key_pem(SSL_CTX *ctx, const char *pem, size_t len)
{
    BIO *bio = pem_bio(pem, len);
    if (bio == NULL)
        return -1;
    EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    int ok = key != NULL && SSL_CTX_use_PrivateKey(ctx, key) == 1 ? 0 : -1;
    EVP_PKEY_free(key);
    BIO_free(bio);
    return ok;
}

static int load_identity(SSL_CTX *ctx, const dossier_config *cfg, dossier_error *err)
{
    int has_cert = cfg->cert_file != NULL || cfg->cert_pem != NULL;
    int has_key = cfg->key_file != NULL || cfg->key_pem != NULL;
    if (!has_cert && !has_key)
        return 0; /* no client certificate: allowed, the server will refuse us */
    if (has_cert != has_key) {
        dossier_error_set(err, DOSSIER_ERR_INVALID, DOSSIER_CODE_INVALID_ARGUMENT,
                          "a client certificate needs its private key, and a key its certificate");
        return -1;
    }
    if (cfg->cert_file != NULL ? SSL_CTX_use_certificate_chain_file(ctx, cfg->cert_file) != 1
                               : load_cert_pem(ctx, cfg->cert_pem, cfg->cert_pem_len) != 0) {
        dossier_error_set(err, DOSSIER_ERR_INVALID, DOSSIER_CODE_INVALID_ARGUMENT,
                          "cannot load the client certificate %s",
                          cfg->cert_file != NULL ? cfg->cert_file : "(PEM buffer)");
        return -1;
    }
    if (cfg->key_file != NULL
            ? SSL_CTX_use_PrivateKey_file(ctx, cfg->key_file, SSL_FILETYPE_PEM) != 1
            : load_key_pem(ctx, cfg->key_pem, cfg->key_pem_len) != 0) {
        dossier_error_set(err, DOSSIER_ERR_INVALID, DOSSIER_CODE_INVALID_ARGUMENT,
                          "cannot load the private key %s",
                          cfg->key_file != NULL ? cfg->key_file : "(PEM buffer)");
        return -1;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        dossier_error_set(err, DOSSIER_ERR_INVALID, DOSSIER_CODE_INVALID_ARGUMENT,
                          "the private key does not match the client certificate");
        return -1;
    }
    return 0;
}

SSL_CTX *dossier_tls_context_new(const dossier_config *cfg, dossier_error *err)
{
    if ((cfg->ca_file != NULL && cfg->ca_pem != NULL) ||
        (cfg->cert_file != NULL && cfg->cert_pem != NULL) ||
        (cfg->key_file != NULL && cfg->key_pem != NULL)) {
        dossier_error_set(err, DOSSIER_ERR_INVALID, DOSSIER_CODE_INVALID_ARGUMENT,
                          "give either a file or a PEM buffer, not both");
        return NULL;
    }
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) {
        dossier_error_set(err, DOSSIER_ERR_INVALID, DOSSIER_CODE_INTERNAL, "SSL_CTX_new failed");
        dossier_error_append_openssl(err);
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (load_ca(ctx, cfg, err) != 0 || load_identity(ctx, cfg, err) != 0) {
        if (err != NULL && err->kind == DOSSIER_OK)
            dossier_error_set(err, DOSSIER_ERR_INVALID, DOSSIER_CODE_INVALID_ARGUMENT,
                              "cannot set up TLS");
        dossier_error_append_openssl(err);
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

/* --- errors of TLS I/O ------------------------------------------------------------------- */

static int is_certificate_alert(int alert)
{
    switch (alert) {
    case 42:  /* bad_certificate */
    case 43:  /* unsupported_certificate */
    case 44:  /* certificate_revoked */
    case 45:  /* certificate_expired */
    case 46:  /* certificate_unknown */
    case 48:  /* unknown_ca */
    case 116: /* certificate_required */
        return 1;
    }
    return 0;
}

static const char *alert_name(int alert)
{
    switch (alert) {
    case 116: return "certificate required"; /* TLS 1.3; unknown to SSL_alert_desc_string_long */
    case 109: return "missing extension";
    case 120: return "no application protocol";
    }
    return SSL_alert_desc_string_long(alert);
}

/* Fills err for a failed SSL_* call; returns -1. */
static int io_error(dossier_transport *t, int ssl_error, int saved_errno, int request_sent,
                    int handshake, dossier_error *err)
{
    t->failed = 1;
    int lost_code = request_sent ? DOSSIER_CODE_DEADLINE_EXCEEDED : DOSSIER_CODE_UNAVAILABLE;
    const char *lost = request_sent ? " (the call may or may not have taken effect)" : "";
    unsigned long e = ERR_peek_error();
    if (ssl_error == SSL_ERROR_ZERO_RETURN) {
        dossier_error_set(err, DOSSIER_ERR_CONNECTION, lost_code,
                          "connection closed by the server%s", lost);
    } else if (ssl_error == SSL_ERROR_SYSCALL && e == 0) {
        if (saved_errno == 0)
            dossier_error_set(err, DOSSIER_ERR_CONNECTION, lost_code,
                              "connection closed by the server%s", lost);
        else
            dossier_error_set(err, DOSSIER_ERR_CONNECTION, lost_code, "connection error: %s%s",
                              strerror(saved_errno), lost);
    } else if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
               ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        dossier_error_set(err, DOSSIER_ERR_CONNECTION, lost_code,
                          "connection closed by the server%s", lost);
    } else if (ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) >= SSL_AD_REASON_OFFSET &&
               ERR_GET_REASON(e) < SSL_AD_REASON_OFFSET + 256) {
        int alert = ERR_GET_REASON(e) - SSL_AD_REASON_OFFSET;
        if (is_certificate_alert(alert))
            dossier_error_set(err, DOSSIER_ERR_TLS, DOSSIER_CODE_UNAUTHENTICATED,
                              "certificate refused by the server (TLS alert %d %s)", alert,
                              alert_name(alert));
        else
            dossier_error_set(err, DOSSIER_ERR_TLS, DOSSIER_CODE_UNAVAILABLE,
                              "TLS alert from the server: %d %s", alert,
                              alert_name(alert));
        if (err != NULL)
            err->tls_alert = alert;
    } else if (handshake && t->ssl != NULL && SSL_get_verify_result(t->ssl) != X509_V_OK) {
        dossier_error_set(err, DOSSIER_ERR_TLS, DOSSIER_CODE_UNAVAILABLE,
                          "server certificate verification failed: %s",
                          X509_verify_cert_error_string(SSL_get_verify_result(t->ssl)));
    } else {
        dossier_error_set(err, DOSSIER_ERR_TLS, DOSSIER_CODE_UNAVAILABLE, "TLS error");
    }
    dossier_error_append_openssl(err);
    return -1;
}

static int timeout_error(dossier_error *err, const char *what)
{
    dossier_error_set(err, DOSSIER_ERR_TIMEOUT, DOSSIER_CODE_DEADLINE_EXCEEDED,
                      "deadline exceeded while %s", what);
    return -1;
}

/* Waits as SSL_get_error asks. Returns 1 to retry, 0 on timeout, -1 on poll failure. */
static int wait_for_ssl(dossier_transport *t, int ssl_error, int64_t deadline_ms)
{
    short events = ssl_error == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN;
    int r = wait_fd(t->fd, events, deadline_ms);
    return r > 0 ? 1 : r;
}

/* --- connect ----------------------------------------------------------------------------- */

static int tcp_connect(const char *host, uint16_t port, int64_t deadline_ms, dossier_error *err)
{
    struct addrinfo *list = NULL;
    if (dossier_resolve(host, port, deadline_ms, &list, err) != 0)
        return -1;
    int fd = -1, last_errno = 0, timed_out = 0;
    for (struct addrinfo *ai = list; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0) {
            last_errno = errno;
            continue;
        }
        fcntl(fd, F_SETFD, FD_CLOEXEC);
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
#ifdef SO_NOSIGPIPE
        int one_nosig = 1;
        setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one_nosig, sizeof one_nosig);
#endif
        int r = connect(fd, ai->ai_addr, ai->ai_addrlen);
        if (r != 0 && errno == EINPROGRESS) {
            int ev = wait_fd(fd, POLLOUT, deadline_ms);
            if (ev == 0) {
                timed_out = 1;
                r = -1;
                errno = ETIMEDOUT;
            } else {
                int so_error = 0;
                socklen_t len = sizeof so_error;
                if (ev < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) != 0)
                    so_error = errno;
                r = so_error == 0 ? 0 : -1;
                errno = so_error;
            }
        }
        if (r != 0) {
            last_errno = errno;
            close(fd);
            fd = -1;
            if (timed_out)
                break;
        }
    }
    freeaddrinfo(list);
    if (fd < 0) {
        if (timed_out)
            dossier_error_set(err, DOSSIER_ERR_TIMEOUT, DOSSIER_CODE_DEADLINE_EXCEEDED,
                              "timed out connecting to %s port %u", host, (unsigned)port);
        else
            dossier_error_set(err, DOSSIER_ERR_CONNECTION, DOSSIER_CODE_UNAVAILABLE,
                              "cannot connect to %s port %u: %s", host, (unsigned)port,
                              strerror(last_errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static int is_ip_literal(const char *name)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1;
}

int dossier_transport_connect(dossier_transport *t, SSL_CTX *ctx, const char *host,
                              uint16_t port, const char *server_name, int64_t deadline,
                              dossier_error *err)
{
    t->failed = 0;
    t->fd = tcp_connect(host, port, deadline, err);
    if (t->fd < 0)
        return -1;
    ERR_clear_error();
    t->ssl = SSL_new(ctx);
    BIO *bio = t->ssl != NULL ? BIO_new(t->bio_method) : NULL;
    if (bio == NULL) {
        dossier_error_set(err, DOSSIER_ERR_INVALID, DOSSIER_CODE_INTERNAL, "out of memory");
        dossier_error_append_openssl(err);
        dossier_transport_close(t);
        return -1;
    }
    BIO_set_data(bio, (void *)(intptr_t)t->fd);
    BIO_set_init(bio, 1);
    SSL_set_bio(t->ssl, bio, bio);
    int ok;
    if (is_ip_literal(server_name)) {
        ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), server_name) == 1;
    } else {
        ok = SSL_set_tlsext_host_name(t->ssl, server_name) == 1 &&
             SSL_set1_host(t->ssl, server_name) == 1;
    }
    if (!ok) {
        dossier_error_set(err, DOSSIER_ERR_INVALID, DOSSIER_CODE_INVALID_ARGUMENT,
                          "invalid server name '%s'", server_name);
        dossier_error_append_openssl(err);
        dossier_transport_close(t);
        return -1;
    }
    for (;;) {
        ERR_clear_error();
        errno = 0;
        int r = SSL_connect(t->ssl);
        if (r == 1)
            return 0;
        int e = SSL_get_error(t->ssl, r);
        int saved_errno = errno;
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            int w = wait_for_ssl(t, e, deadline);
            if (w > 0)
                continue;
            if (w == 0)
                timeout_error(err, "doing the TLS handshake");
            else
                dossier_error_set(err, DOSSIER_ERR_CONNECTION, DOSSIER_CODE_UNAVAILABLE,
                                  "poll: %s", strerror(errno));
        } else {
            io_error(t, e, saved_errno, 0, 1, err);
        }
        dossier_transport_close(t);
        return -1;
    }
}

void dossier_transport_close(dossier_transport *t)
{
    if (t->ssl != NULL) {
        /* Best effort close_notify; never waits (non-blocking socket). */
        if (!t->failed && SSL_is_init_finished(t->ssl))
            SSL_shutdown(t->ssl);
        SSL_free(t->ssl); /* frees the BIO */
        t->ssl = NULL;
    }
    if (t->fd >= 0) {
        close(t->fd);
        t->fd = -1;
    }
    ERR_clear_error();
}

/* --- I/O --------------------------------------------------------------------------------- */

long dossier_transport_read(dossier_transport *t, uint8_t *buf, size_t len, int64_t deadline_ms,
                            int request_sent, dossier_error *err)
{
    int want = len > INT_MAX ? INT_MAX : (int)len;
    for (;;) {
        ERR_clear_error();
        errno = 0;
        int n = SSL_read(t->ssl, buf, want);
        if (n > 0)
            return n;
        int e = SSL_get_error(t->ssl, n);
        int saved_errno = errno;
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            if (deadline_ms == DOSSIER_DEADLINE_NOWAIT)
                return 0;
            int w = wait_for_ssl(t, e, deadline_ms);
            if (w > 0)
                continue;
            if (w == 0)
                return timeout_error(err, "waiting for the server's answer");
            dossier_error_set(err, DOSSIER_ERR_CONNECTION, DOSSIER_CODE_UNAVAILABLE, "poll: %s",
                              strerror(errno));
            return -1;
        }
        return io_error(t, e, saved_errno, request_sent, 0, err);
    }
}

int dossier_transport_write(dossier_transport *t, const uint8_t *buf, size_t len,
                            int64_t deadline_ms, dossier_readable_fn on_readable, void *ctx,
                            int request_sent, dossier_error *err)
{
    size_t off = 0;
    while (off < len) {
        size_t chunk = len - off > INT_MAX ? INT_MAX : len - off;
        ERR_clear_error();
        errno = 0;
        int n = SSL_write(t->ssl, buf + off, (int)chunk);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        int e = SSL_get_error(t->ssl, n);
        int saved_errno = errno;
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
            return io_error(t, e, saved_errno, request_sent, 0, err);
        /* Keep reading while we wait to write (PROTOCOL.md 6.2). */
        short events = (short)(e == SSL_ERROR_WANT_WRITE ? POLLOUT | POLLIN : POLLIN);
        int ev = wait_fd(t->fd, events, deadline_ms);
        if (ev == 0)
            return timeout_error(err, "sending the request");
        if (ev < 0) {
            dossier_error_set(err, DOSSIER_ERR_CONNECTION, DOSSIER_CODE_UNAVAILABLE, "poll: %s",
                              strerror(errno));
            return -1;
        }
        if (e == SSL_ERROR_WANT_WRITE && (ev & POLLIN) && !(ev & POLLOUT) && on_readable != NULL &&
            on_readable(ctx, err) != 0)
            return -1;
    }
    return 0;
}
