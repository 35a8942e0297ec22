/* Shared by the examples: command-line options for the connection, and error printing.
 * Not part of the library. */
#ifndef DOSSIER_EXAMPLE_COMMON_H
#define DOSSIER_EXAMPLE_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dossier/client.h>

typedef struct example_options {
    dossier_config config;
    const char *patient;
    /* Options of the example itself, as name/value pairs (e.g. "--file"). */
    const char *extra_names[8];
    const char *extra_values[8];
    int n_extra;
} example_options;

static inline void example_usage(const char *prog, const char *extra)
{
    fprintf(stderr,
            "usage: %s --host HOST --port PORT --ca CA.pem --cert CERT.pem --key KEY.pem\n"
            "          --patient PATIENT_ID [--server-name NAME] [--timeout-ms MS] %s\n",
            prog, extra);
    exit(2);
}

/* Parses the common options; the ones listed in `extra` (e.g. {"--file", NULL}) are kept in
 * opts->extra_*. Exits with status 2 on a usage error. */
static inline void example_parse(example_options *opts, int argc, char **argv, const char *const *extra,
                          const char *extra_usage)
{
    memset(opts, 0, sizeof *opts);
    dossier_config_init(&opts->config);
    opts->config.host = "localhost";
    opts->config.port = 7443;
    for (int i = 1; i < argc; i += 2) {
        const char *name = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (value == NULL)
            example_usage(argv[0], extra_usage);
        if (strcmp(name, "--host") == 0)
            opts->config.host = value;
        else if (strcmp(name, "--port") == 0)
            opts->config.port = (uint16_t)atoi(value);
        else if (strcmp(name, "--server-name") == 0)
            opts->config.server_name = value;
        else if (strcmp(name, "--ca") == 0)
            opts->config.ca_file = value;
        else if (strcmp(name, "--cert") == 0)
            opts->config.cert_file = value;
        else if (strcmp(name, "--key") == 0)
            opts->config.key_file = value;
        else if (strcmp(name, "--timeout-ms") == 0)
            opts->config.call_timeout_ms = atoi(value);
        else if (strcmp(name, "--patient") == 0)
            opts->patient = value;
        else {
            int known = 0;
            for (int k = 0; extra != NULL && extra[k] != NULL; k++)
                if (strcmp(name, extra[k]) == 0 && opts->n_extra < 8) {
                    opts->extra_names[opts->n_extra] = extra[k];
                    opts->extra_values[opts->n_extra++] = value;
                    known = 1;
                }
            if (!known)
                example_usage(argv[0], extra_usage);
        }
    }
    if (opts->patient == NULL || opts->config.cert_file == NULL || opts->config.key_file == NULL)
        example_usage(argv[0], extra_usage);
}

static inline const char *example_option(const example_options *opts, const char *name,
                                  const char *fallback)
{
    for (int i = 0; i < opts->n_extra; i++)
        if (strcmp(opts->extra_names[i], name) == 0)
            return opts->extra_values[i];
    return fallback;
}

static inline void example_print_error(const char *what, const dossier_error *err)
{
    char buf[1024];
    fprintf(stderr, "%s failed: %s\n", what, dossier_error_format(err, buf, sizeof buf));
}

static inline dossier_client *example_connect(const example_options *opts)
{
    dossier_error err;
    dossier_client *client = dossier_client_new(&opts->config, &err);
    if (client == NULL)
        example_print_error("connect", &err);
    return client;
}

#endif
