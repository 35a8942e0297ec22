/* Downloads a document's content (Documents.ReadDocumentContent in 1 MiB ranges) into a file
 * and verifies the SHA-256 of the whole against the server's.
 *
 *   download_document --host localhost --port 7443 --ca ca.pem --cert professional-gp.pem
 *                     --key professional-gp.key --patient 1985010112345
 *                     --document DOCUMENT_ID --out FILE */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "dossier/v1/documents.pb-c.h"
#include "example_common.h"

#define RANGE (1024u * 1024u)

int main(int argc, char **argv)
{
    static const char *const extra[] = {"--document", "--out", NULL};
    example_options opts;
    example_parse(&opts, argc, argv, extra, "--document ID --out FILE");
    const char *doc_id = example_option(&opts, "--document", NULL);
    const char *out_path = example_option(&opts, "--out", NULL);
    if (doc_id == NULL || out_path == NULL)
        example_usage(argv[0], "--document ID --out FILE");

    dossier_client *client = example_connect(&opts);
    if (client == NULL)
        return 1;
    FILE *out = fopen(out_path, "wb");
    if (out == NULL) {
        perror(out_path);
        dossier_client_free(client);
        return 1;
    }
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    uint8_t expected[32];
    uint64_t offset = 0, total = 0;
    int eof = 0, ok = 1, have_expected = 0;
    while (!eof && ok) {
        Dossier__V1__ReadDocumentContentRequest req = DOSSIER__V1__READ_DOCUMENT_CONTENT_REQUEST__INIT;
        req.patient_id = (char *)opts.patient;
        req.document_id = (char *)doc_id;
        req.offset = offset;
        req.length = RANGE;
        Dossier__V1__ReadDocumentContentResponse *resp = NULL;
        dossier_error err;
        if (dossier_client_call(client, "dossier.v1.Documents", "ReadDocumentContent", &req.base,
                                &dossier__v1__read_document_content_response__descriptor,
                                (ProtobufCMessage **)&resp, DOSSIER_TIMEOUT_DEFAULT, &err) != 0) {
            example_print_error("ReadDocumentContent", &err);
            ok = 0;
            break;
        }
        if (resp->offset != offset || resp->sha256.len != 32 ||
            (resp->data.len == 0 && !resp->eof)) {
            fprintf(stderr, "unexpected range from the server at offset %llu\n",
                    (unsigned long long)offset);
            ok = 0;
        } else if (fwrite(resp->data.data, 1, resp->data.len, out) != resp->data.len) {
            perror(out_path);
            ok = 0;
        } else {
            EVP_DigestUpdate(md, resp->data.data, resp->data.len);
            memcpy(expected, resp->sha256.data, 32);
            have_expected = 1;
            offset += resp->data.len;
            total = resp->total_size;
            eof = resp->eof;
            fprintf(stderr, "\r%llu / %llu bytes", (unsigned long long)offset,
                    (unsigned long long)total);
        }
        protobuf_c_message_free_unpacked(&resp->base, NULL);
    }
    fprintf(stderr, "\n");
    uint8_t digest[32];
    unsigned int dlen = 32;
    EVP_DigestFinal_ex(md, digest, &dlen);
    EVP_MD_CTX_free(md);
    if (fclose(out) != 0)
        ok = 0;
    if (ok && (offset != total || !have_expected || memcmp(digest, expected, 32) != 0)) {
        fprintf(stderr, "SHA-256 or size mismatch: the download is corrupt\n");
        ok = 0;
    }
    if (!ok) {
        remove(out_path);
    } else {
        printf("%s: %llu bytes, sha256 ", out_path, (unsigned long long)total);
        for (int i = 0; i < 32; i++)
            printf("%02x", digest[i]);
        printf(" (verified)\n");
    }
    dossier_client_free(client);
    return ok ? 0 : 1;
}
