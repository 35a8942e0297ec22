/* Name resolution bounded by a deadline. getaddrinfo() has no timeout (a DNS server that does
 * not answer holds it for the resolver's own retries, tens of seconds), so:
 *   - a numeric address (IPv4 / IPv6 literal) is converted at once, without any lookup;
 *   - a name is looked up by getaddrinfo() in a helper thread, while the caller waits for it
 *     with poll() on a pipe until the deadline. If the deadline passes first the caller returns
 *     DOSSIER_ERR_TIMEOUT and leaves the helper to finish on its own: the last of the two to
 *     let go of the lookup frees it (and its result).
 * Portable POSIX (no getaddrinfo_a, which is glibc only and cannot abandon a running lookup
 * without leaking it). The helper runs with every signal blocked. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"

/* One lookup, shared by the caller and its helper thread. */
typedef struct resolve_job {
    pthread_mutex_t mutex;
    int refs;             /* 2 while both hold it; freed by the last release */
    int done;             /* the helper has stored its result */
    int pipe_fd[2];       /* the helper writes one byte to [1] when done; the caller polls [0] */
    int gai;              /* getaddrinfo's result */
    int sys_errno;        /* errno, for EAI_SYSTEM */
    struct addrinfo *list;
    char service[8];
    char host[];
} resolve_job;

static void set_hints(struct addrinfo *hints, int flags)
{
    memset(hints, 0, sizeof *hints);
    hints->ai_family = AF_UNSPEC;
    hints->ai_socktype = SOCK_STREAM;
    hints->ai_flags = flags;
}

static void job_release(resolve_job *j)
{
    pthread_mutex_lock(&j->mutex);
    int left = --j->refs;
    pthread_mutex_unlock(&j->mutex);
    if (left > 0)
        return;
    if (j->list != NULL)
        freeaddrinfo(j->list);
    close(j->pipe_fd[0]);
    close(j->pipe_fd[1]);
    pthread_mutex_destroy(&j->mutex);
    free(j);
}

static void *resolve_main(void *arg)
{
    resolve_job *j = arg;
    struct addrinfo hints, *list = NULL;
    set_hints(&hints, AI_NUMERICSERV);
    errno = 0;
    int gai = getaddrinfo(j->host, j->service, &hints, &list);
    int saved_errno = errno;
    pthread_mutex_lock(&j->mutex);
    j->gai = gai;
    j->sys_errno = saved_errno;
    j->list = gai == 0 ? list : NULL;
    j->done = 1;
    pthread_mutex_unlock(&j->mutex);
    char one = 1;
    while (write(j->pipe_fd[1], &one, 1) < 0 && errno == EINTR) {
    }
    job_release(j);
    return NULL;
}

static int resolve_error(dossier_error *err, const char *host, int gai, int sys_errno)
{
    dossier_error_set(err, DOSSIER_ERR_CONNECTION, DOSSIER_CODE_UNAVAILABLE,
                      "cannot resolve %s: %s", host,
                      gai == EAI_SYSTEM ? strerror(sys_errno) : gai_strerror(gai));
    return -1;
}

/* Starts the helper thread (detached, every signal blocked). Returns 0 or an errno value. */
static int start_helper(resolve_job *j)
{
    pthread_attr_t attr;
    int rc = pthread_attr_init(&attr);
    if (rc != 0)
        return rc;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    sigset_t all, saved;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &saved); /* inherited by the helper */
    pthread_t thread;
    rc = pthread_create(&thread, &attr, resolve_main, j);
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    pthread_attr_destroy(&attr);
    return rc;
}

int dossier_resolve(const char *host, uint16_t port, int64_t deadline_ms,
                    struct addrinfo **list, dossier_error *err)
{
    *list = NULL;
    char service[8];
    snprintf(service, sizeof service, "%u", (unsigned)port);

    /* A numeric address: no lookup, nothing to wait for. */
    struct addrinfo hints;
    set_hints(&hints, AI_NUMERICHOST | AI_NUMERICSERV);
    int gai = getaddrinfo(host, service, &hints, list);
    if (gai == 0)
        return 0;
    if (gai != EAI_NONAME)
        return resolve_error(err, host, gai, errno);

    size_t host_len = strlen(host) + 1;
    resolve_job *j = calloc(1, sizeof *j + host_len);
    if (j == NULL) {
        dossier_error_set(err, DOSSIER_ERR_INVALID, DOSSIER_CODE_RESOURCE_EXHAUSTED,
                          "out of memory");
        return -1;
    }
    memcpy(j->host, host, host_len);
    memcpy(j->service, service, sizeof service);
    if (pipe(j->pipe_fd) != 0) {
        dossier_error_set(err, DOSSIER_ERR_CONNECTION, DOSSIER_CODE_UNAVAILABLE,
                          "cannot resolve %s: pipe: %s", host, strerror(errno));
        free(j);
        return -1;
    }
    fcntl(j->pipe_fd[0], F_SETFD, FD_CLOEXEC);
    fcntl(j->pipe_fd[1], F_SETFD, FD_CLOEXEC);
    pthread_mutex_init(&j->mutex, NULL);
    j->refs = 2;
    int rc = start_helper(j);
    if (rc != 0) {
        j->refs = 1;
        job_release(j);
        dossier_error_set(err, DOSSIER_ERR_CONNECTION, DOSSIER_CODE_UNAVAILABLE,
                          "cannot resolve %s: no thread for the lookup: %s", host, strerror(rc));
        return -1;
    }

    struct pollfd p = {.fd = j->pipe_fd[0], .events = POLLIN, .revents = 0};
    int r;
    do {
        r = poll(&p, 1, dossier_remaining_ms(deadline_ms));
    } while (r < 0 && errno == EINTR);
    int poll_errno = errno;
    pthread_mutex_lock(&j->mutex);
    int done = j->done;
    gai = j->gai;
    int sys_errno = j->sys_errno;
    *list = j->list;
    j->list = NULL; /* ours now (NULL if not done) */
    pthread_mutex_unlock(&j->mutex);
    job_release(j);
    if (!done) {
        if (r < 0)
            dossier_error_set(err, DOSSIER_ERR_CONNECTION, DOSSIER_CODE_UNAVAILABLE,
                              "cannot resolve %s: poll: %s", host, strerror(poll_errno));
        else
            dossier_error_set(err, DOSSIER_ERR_TIMEOUT, DOSSIER_CODE_DEADLINE_EXCEEDED,
                              "timed out resolving %s", host);
        return -1;
    }
    if (gai != 0)
        return resolve_error(err, host, gai, sys_errno);
    return 0;
}
