/* Test helpers that let Swift tests drive the C client (clients/c) through real generated
 * protobuf-c messages, without Swift having to see the generated headers. */
#ifndef DOSSIER_CLIENT_SHIM_H
#define DOSSIER_CLIENT_SHIM_H

#include <stddef.h>
#include <stdint.h>

#include "dossier/client.h"

/* Health.Check through the generated stub; copies the server version. 0 or -1 (err filled). */
int shim_health_check(dossier_client *client, char *version, size_t version_size, dossier_error *err);

/* Records.GetRecord; sets *state to the dossier.v1.RecordState value. */
int shim_get_record_state(dossier_client *client, const char *patient_id, int *state, dossier_error *err);

/* Documents.DepositDocument of a lab result; copies the new document id. */
int shim_deposit(dossier_client *client, const char *patient_id, const char *client_unique_id,
                 const uint8_t *content, size_t length, char *document_id, size_t id_size, dossier_error *err);

/* Documents.ReadDocumentContent of [offset, offset + length); copies the bytes and their count. */
int shim_read(dossier_client *client, const char *patient_id, const char *document_id, uint64_t offset,
              uint32_t length, uint8_t *out, size_t out_size, size_t *count, dossier_error *err);

#endif
