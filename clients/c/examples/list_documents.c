/* Lists the documents of a patient's record the caller may see (Documents.FindDocuments, all
 * pages), as a table.
 *
 *   list_documents --host localhost --port 7443 --ca ca.pem --cert professional-gp.pem
 *                  --key professional-gp.key --patient 1985010112345 [--page-size N]
 *                  [--all-statuses 1] */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dossier/v1/documents.pb-c.h"
#include "example_common.h"

/* "REPORT" for DOCUMENT_CLASS_REPORT, from the generated enum descriptor. */
static const char *enum_name(const ProtobufCEnumDescriptor *desc, int value, const char *prefix)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(desc, value);
    if (v == NULL)
        return "?";
    size_t n = strlen(prefix);
    return strncmp(v->name, prefix, n) == 0 ? v->name + n : v->name;
}

static void format_time(const Google__Protobuf__Timestamp *ts, char *buf, size_t size)
{
    if (ts == NULL) {
        snprintf(buf, size, "-");
        return;
    }
    time_t t = (time_t)ts->seconds;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%d %H:%M", &tm);
}

int main(int argc, char **argv)
{
    static const char *const extra[] = {"--page-size", "--all-statuses", NULL};
    example_options opts;
    example_parse(&opts, argc, argv, extra, "[--page-size N] [--all-statuses 1]");
    dossier_client *client = example_connect(&opts);
    if (client == NULL)
        return 1;

    Dossier__V1__DocumentStatus statuses[] = {DOSSIER__V1__DOCUMENT_STATUS__DOCUMENT_STATUS_CURRENT,
                                              DOSSIER__V1__DOCUMENT_STATUS__DOCUMENT_STATUS_DEPRECATED};
    int all = strcmp(example_option(&opts, "--all-statuses", "0"), "1") == 0;
    char token[512] = "";
    int status = 0;
    size_t total = 0;
    printf("%-24s %-16s %-14s %-10s %10s  %-10s %s\n", "DOCUMENT ID", "CREATED (UTC)", "CLASS",
           "TYPE", "SIZE", "STATUS", "TITLE");
    do {
        Dossier__V1__FindDocumentsRequest req = DOSSIER__V1__FIND_DOCUMENTS_REQUEST__INIT;
        req.patient_id = (char *)opts.patient;
        req.page_size = (uint32_t)atoi(example_option(&opts, "--page-size", "50"));
        req.page_token = token;
        if (all) {
            req.statuses = statuses;
            req.n_statuses = 2;
        }
        Dossier__V1__FindDocumentsResponse *resp = NULL;
        dossier_error err;
        if (dossier_client_call(client, "dossier.v1.Documents", "FindDocuments", &req.base,
                                &dossier__v1__find_documents_response__descriptor,
                                (ProtobufCMessage **)&resp, DOSSIER_TIMEOUT_DEFAULT, &err) != 0) {
            example_print_error("FindDocuments", &err);
            status = 1;
            break;
        }
        for (size_t i = 0; i < resp->n_documents; i++) {
            const Dossier__V1__Document *d = resp->documents[i];
            char created[32];
            format_time(d->created_at, created, sizeof created);
            printf("%-24s %-16s %-14s %-10s %10llu  %-10s %s\n", d->document_id, created,
                   enum_name(&dossier__v1__document_class__descriptor, (int)d->document_class,
                             "DOCUMENT_CLASS_"),
                   d->type_code != NULL ? d->type_code->code : "-",
                   (unsigned long long)d->size_bytes,
                   enum_name(&dossier__v1__document_status__descriptor, (int)d->status,
                             "DOCUMENT_STATUS_"),
                   d->title);
        }
        total += resp->n_documents;
        snprintf(token, sizeof token, "%s", resp->next_page_token);
        protobuf_c_message_free_unpacked(&resp->base, NULL);
    } while (token[0] != '\0');
    if (status == 0)
        printf("%zu document(s)\n", total);
    dossier_client_free(client);
    return status;
}
