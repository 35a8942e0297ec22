/* Deposits a PDF file in a patient's record (Documents.DepositDocument; files over 3 MiB go
 * through CreateUpload / UploadChunk / CompleteUpload).
 *
 *   deposit_pdf --host localhost --port 7443 --ca ca.pem --cert professional-gp.pem
 *               --key professional-gp.key --patient 1985010112345 --file report.pdf
 *               [--title TITLE] [--client-unique-id ID] [--loinc CODE] [--created-at UNIX_SECONDS]
 *
 * The client unique id defaults to "pdf-" + the SHA-256 of the content, so running it twice
 * with the same file is idempotent (the second run prints "already existed"). */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "dossier/v1/documents.pb-c.h"
#include "example_common.h"

#define MAX_SINGLE_CALL (3u * 1024 * 1024)

static uint8_t *read_whole_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    uint8_t *buf = NULL;
    size_t cap = 0, n = 0, r;
    do {
        if (n == cap) {
            uint8_t *grown = realloc(buf, cap = cap ? cap * 2 : 65536);
            if (grown == NULL) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = grown;
        }
        r = fread(buf + n, 1, cap - n, f);
        n += r;
    } while (r > 0);
    fclose(f);
    *len = n;
    return buf;
}

static void print_document(const Dossier__V1__Document *doc, int already)
{
    printf("document_id %s%s\n", doc->document_id, already ? " (already existed)" : "");
    printf("size        %llu bytes\n", (unsigned long long)doc->size_bytes);
    printf("sha256      ");
    for (size_t i = 0; i < doc->sha256.len; i++)
        printf("%02x", doc->sha256.data[i]);
    printf("\n");
}

/* Large files: a resumable upload session, 1 MiB chunks. */
static int upload(dossier_client *client, const char *patient, Dossier__V1__DocumentSubmission *sub,
                  const uint8_t *content, size_t len, uint8_t digest[32])
{
    dossier_error err;
    Dossier__V1__CreateUploadRequest create = DOSSIER__V1__CREATE_UPLOAD_REQUEST__INIT;
    create.patient_id = (char *)patient;
    create.submission = sub;
    create.declared_size = len;
    create.expected_sha256.data = digest;
    create.expected_sha256.len = 32;
    Dossier__V1__CreateUploadResponse *created = NULL;
    if (dossier_client_call(client, "dossier.v1.Documents", "CreateUpload", &create.base,
                            &dossier__v1__create_upload_response__descriptor,
                            (ProtobufCMessage **)&created, DOSSIER_TIMEOUT_DEFAULT, &err) != 0) {
        example_print_error("CreateUpload", &err);
        return 1;
    }
    if (created->existing_document != NULL) { /* deposited before with this client unique id */
        print_document(created->existing_document, 1);
        protobuf_c_message_free_unpacked(&created->base, NULL);
        return 0;
    }
    char upload_id[256];
    snprintf(upload_id, sizeof upload_id, "%s", created->upload->upload_id);
    uint64_t offset = created->upload->committed_size; /* > 0 when resuming a session */
    uint32_t chunk = created->upload->max_chunk_size ? created->upload->max_chunk_size : 1048576;
    protobuf_c_message_free_unpacked(&created->base, NULL);

    while (offset < len) {
        size_t n = len - offset < chunk ? len - offset : chunk;
        Dossier__V1__UploadChunkRequest req = DOSSIER__V1__UPLOAD_CHUNK_REQUEST__INIT;
        req.upload_id = upload_id;
        req.offset = offset;
        req.data.data = (uint8_t *)content + offset;
        req.data.len = n;
        Dossier__V1__UploadChunkResponse *resp = NULL;
        if (dossier_client_call(client, "dossier.v1.Documents", "UploadChunk", &req.base,
                                &dossier__v1__upload_chunk_response__descriptor,
                                (ProtobufCMessage **)&resp, DOSSIER_TIMEOUT_DEFAULT, &err) != 0) {
            example_print_error("UploadChunk", &err);
            return 1;
        }
        offset = resp->committed_size;
        protobuf_c_message_free_unpacked(&resp->base, NULL);
        fprintf(stderr, "\ruploaded %llu / %zu bytes", (unsigned long long)offset, len);
    }
    fprintf(stderr, "\n");
    Dossier__V1__CompleteUploadRequest complete = DOSSIER__V1__COMPLETE_UPLOAD_REQUEST__INIT;
    complete.upload_id = upload_id;
    complete.expected_sha256.data = digest;
    complete.expected_sha256.len = 32;
    Dossier__V1__CompleteUploadResponse *done = NULL;
    if (dossier_client_call(client, "dossier.v1.Documents", "CompleteUpload", &complete.base,
                            &dossier__v1__complete_upload_response__descriptor,
                            (ProtobufCMessage **)&done, DOSSIER_TIMEOUT_DEFAULT, &err) != 0) {
        example_print_error("CompleteUpload", &err);
        return 1;
    }
    print_document(done->document, done->already_completed);
    protobuf_c_message_free_unpacked(&done->base, NULL);
    return 0;
}

int main(int argc, char **argv)
{
    static const char *const extra[] = {"--file", "--title", "--client-unique-id", "--loinc",
                                        "--created-at", NULL};
    example_options opts;
    example_parse(&opts, argc, argv, extra,
                  "--file FILE.pdf [--title T] [--client-unique-id ID] [--loinc CODE] "
                  "[--created-at UNIX_SECONDS]");
    const char *path = example_option(&opts, "--file", NULL);
    if (path == NULL)
        example_usage(argv[0], "--file FILE.pdf ...");

    size_t len = 0;
    uint8_t *content = read_whole_file(path, &len);
    if (content == NULL || len == 0) {
        fprintf(stderr, "cannot read %s (or it is empty)\n", path);
        free(content);
        return 1;
    }
    if (len < 5 || memcmp(content, "%PDF-", 5) != 0)
        fprintf(stderr, "warning: %s does not start with %%PDF-\n", path);

    uint8_t digest[32];
    unsigned int dlen = 32;
    EVP_Digest(content, len, digest, &dlen, EVP_sha256(), NULL);
    char uid[80];
    snprintf(uid, sizeof uid, "pdf-");
    for (int i = 0; i < 32; i++)
        snprintf(uid + 4 + 2 * i, 3, "%02x", digest[i]);

    /* Submission metadata (DocumentSubmission: the required fields and a few optional ones). */
    Dossier__V1__Coding type = DOSSIER__V1__CODING__INIT;
    type.system = "http://loinc.org";
    type.code = (char *)example_option(&opts, "--loinc", "11488-4"); /* Consult note */
    Google__Protobuf__Timestamp created = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    const char *created_at = example_option(&opts, "--created-at", NULL);
    created.seconds = created_at != NULL ? strtoll(created_at, NULL, 10) : (int64_t)time(NULL);
    Dossier__V1__DocumentSubmission sub = DOSSIER__V1__DOCUMENT_SUBMISSION__INIT;
    sub.client_unique_id = (char *)example_option(&opts, "--client-unique-id", uid);
    sub.title = (char *)example_option(&opts, "--title", path);
    sub.document_class = DOSSIER__V1__DOCUMENT_CLASS__DOCUMENT_CLASS_REPORT;
    sub.type_code = &type;
    sub.mime_type = "application/pdf";
    sub.created_at = &created;

    dossier_client *client = example_connect(&opts);
    int status = 1;
    if (client != NULL && len > MAX_SINGLE_CALL) {
        status = upload(client, opts.patient, &sub, content, len, digest);
    } else if (client != NULL) {
        Dossier__V1__DepositDocumentRequest req = DOSSIER__V1__DEPOSIT_DOCUMENT_REQUEST__INIT;
        req.patient_id = (char *)opts.patient;
        req.submission = &sub;
        req.content.data = content;
        req.content.len = len;
        req.expected_sha256.data = digest;
        req.expected_sha256.len = sizeof digest;
        Dossier__V1__DepositDocumentResponse *resp = NULL;
        dossier_error err;
        if (dossier_client_call(client, "dossier.v1.Documents", "DepositDocument", &req.base,
                                &dossier__v1__deposit_document_response__descriptor,
                                (ProtobufCMessage **)&resp, DOSSIER_TIMEOUT_DEFAULT, &err) != 0) {
            example_print_error("DepositDocument", &err);
        } else {
            print_document(resp->document, resp->already_existed);
            protobuf_c_message_free_unpacked(&resp->base, NULL);
            status = 0;
        }
    }
    dossier_client_free(client);
    free(content);
    return status;
}
