#include "dossier_client_shim.h"

#include <string.h>

#include "dossier/v1/documents.pb-c.h"
#include "dossier/v1/health.pb-c.h"
#include "dossier/v1/records.pb-c.h"

static void copy(char *out, size_t size, const char *text) {
    if (size == 0) return;
    strncpy(out, text ? text : "", size - 1);
    out[size - 1] = '\0';
}

typedef struct {
    int answered;
    char *version;
    size_t version_size;
} check_result;

/* The response is only valid during the closure (the client frees it afterwards). */
static void on_check(const Dossier__V1__CheckResponse *response, void *data) {
    check_result *result = data;
    if (response == NULL) return;
    result->answered = 1;
    copy(result->version, result->version_size, response->version);
}

int shim_health_check(dossier_client *client, char *version, size_t version_size, dossier_error *err) {
    ProtobufCService *service = dossier_client_service(client, &dossier__v1__health__descriptor);
    Dossier__V1__CheckRequest request = DOSSIER__V1__CHECK_REQUEST__INIT;
    check_result result = {0, version, version_size};
    dossier__v1__health__check(service, &request, on_check, &result);
    if (!result.answered) {
        if (err) *err = *dossier_client_last_error(client);
        return -1;
    }
    return 0;
}

int shim_get_record_state(dossier_client *client, const char *patient_id, int *state, dossier_error *err) {
    Dossier__V1__GetRecordRequest request = DOSSIER__V1__GET_RECORD_REQUEST__INIT;
    request.patient_id = (char *)patient_id;
    ProtobufCMessage *response = NULL;
    if (dossier_client_call(client, "dossier.v1.Records", "GetRecord", &request.base,
                            &dossier__v1__get_record_response__descriptor, &response, DOSSIER_TIMEOUT_DEFAULT, err) != 0)
        return -1;
    Dossier__V1__GetRecordResponse *answer = (Dossier__V1__GetRecordResponse *)response;
    *state = answer->record ? (int)answer->record->state : 0;
    protobuf_c_message_free_unpacked(response, NULL);
    return 0;
}

int shim_deposit(dossier_client *client, const char *patient_id, const char *client_unique_id,
                 const uint8_t *content, size_t length, char *document_id, size_t id_size, dossier_error *err) {
    Dossier__V1__Coding type = DOSSIER__V1__CODING__INIT;
    type.system = "http://loinc.org";
    type.code = "11502-2";
    Google__Protobuf__Timestamp created = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    created.seconds = 1790000000;
    Dossier__V1__DocumentSubmission submission = DOSSIER__V1__DOCUMENT_SUBMISSION__INIT;
    submission.client_unique_id = (char *)client_unique_id;
    submission.title = "Laboratory report";
    submission.document_class = DOSSIER__V1__DOCUMENT_CLASS__DOCUMENT_CLASS_LAB_RESULT;
    submission.type_code = &type;
    submission.mime_type = "application/pdf";
    submission.created_at = &created;
    Dossier__V1__DepositDocumentRequest request = DOSSIER__V1__DEPOSIT_DOCUMENT_REQUEST__INIT;
    request.patient_id = (char *)patient_id;
    request.submission = &submission;
    request.content.data = (uint8_t *)content;
    request.content.len = length;
    ProtobufCMessage *response = NULL;
    if (dossier_client_call(client, "dossier.v1.Documents", "DepositDocument", &request.base,
                            &dossier__v1__deposit_document_response__descriptor, &response, DOSSIER_TIMEOUT_DEFAULT, err) != 0)
        return -1;
    Dossier__V1__DepositDocumentResponse *answer = (Dossier__V1__DepositDocumentResponse *)response;
    copy(document_id, id_size, answer->document ? answer->document->document_id : "");
    protobuf_c_message_free_unpacked(response, NULL);
    return 0;
}

int shim_read(dossier_client *client, const char *patient_id, const char *document_id, uint64_t offset,
              uint32_t length, uint8_t *out, size_t out_size, size_t *count, dossier_error *err) {
    Dossier__V1__ReadDocumentContentRequest request = DOSSIER__V1__READ_DOCUMENT_CONTENT_REQUEST__INIT;
    request.patient_id = (char *)patient_id;
    request.document_id = (char *)document_id;
    request.offset = offset;
    request.length = length;
    ProtobufCMessage *response = NULL;
    if (dossier_client_call(client, "dossier.v1.Documents", "ReadDocumentContent", &request.base,
                            &dossier__v1__read_document_content_response__descriptor, &response,
                            DOSSIER_TIMEOUT_DEFAULT, err) != 0)
        return -1;
    Dossier__V1__ReadDocumentContentResponse *answer = (Dossier__V1__ReadDocumentContentResponse *)response;
    size_t n = answer->data.len < out_size ? answer->data.len : out_size;
    memcpy(out, answer->data.data, n);
    *count = n;
    protobuf_c_message_free_unpacked(response, NULL);
    return 0;
}
