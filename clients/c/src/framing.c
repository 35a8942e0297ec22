/* ttrpc framing: the 10-byte header, and an incremental reader that keeps the payload of the
 * awaited Response and skips every other frame (docs/PROTOCOL.md, section 4). */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

void dossier_frame_header_encode(uint8_t out[DOSSIER_FRAME_HEADER_SIZE], uint32_t length,
                                 uint32_t stream_id, uint8_t type, uint8_t flags)
{
    put_u32(out, length);
    put_u32(out + 4, stream_id);
    out[8] = type;
    out[9] = flags;
}

/* Forgets the frame in progress and any completed response; keeps wanted_stream. */
void dossier_frame_reader_reset(dossier_frame_reader *r)
{
    uint32_t wanted = r->wanted_stream;
    free(r->payload);
    free(r->done_payload);
    memset(r, 0, sizeof *r);
    r->wanted_stream = wanted;
}

int dossier_frame_reader_idle(const dossier_frame_reader *r)
{
    return r->header_have == 0;
}

/* The current frame is complete: hand it over if it is the awaited response, else drop it. */
static void finish_frame(dossier_frame_reader *r)
{
    if (r->keep) {
        free(r->done_payload);
        r->done_payload = r->payload;
        r->done_length = r->length;
        r->done = 1;
        r->wanted_stream = 0; /* a duplicate answer for it would now be skipped */
    } else {
        free(r->payload);
    }
    r->payload = NULL;
    r->payload_have = 0;
    r->header_have = 0;
    r->keep = 0;
}

static int start_frame(dossier_frame_reader *r, dossier_error *err)
{
    r->length = get_u32(r->header);
    r->stream_id = get_u32(r->header + 4);
    r->type = r->header[8];
    if (r->length > DOSSIER_MAX_FRAME_BYTES) {
        dossier_error_set(err, DOSSIER_ERR_PROTOCOL, DOSSIER_CODE_INTERNAL,
                          "the server sent a frame of %u bytes (stream %u), over the limit of %u",
                          (unsigned)r->length, (unsigned)r->stream_id,
                          (unsigned)DOSSIER_MAX_FRAME_BYTES);
        return -1;
    }
    /* Only the Response to the call we wait for is kept; answers to calls we gave up on,
     * and frames of other types, are skipped (PROTOCOL.md 6.2). */
    r->keep = r->type == DOSSIER_FRAME_RESPONSE && r->wanted_stream != 0 &&
              r->stream_id == r->wanted_stream;
    r->payload_have = 0;
    if (r->keep) {
        r->payload = malloc(r->length > 0 ? r->length : 1);
        if (r->payload == NULL) {
            dossier_error_set(err, DOSSIER_ERR_INVALID, DOSSIER_CODE_RESOURCE_EXHAUSTED,
                              "out of memory for a response of %u bytes", (unsigned)r->length);
            return -1;
        }
    }
    if (r->length == 0)
        finish_frame(r);
    return 0;
}

int dossier_frame_reader_feed(dossier_frame_reader *r, const uint8_t *data, size_t len,
                              dossier_error *err)
{
    while (len > 0) {
        if (r->header_have < DOSSIER_FRAME_HEADER_SIZE) {
            size_t n = DOSSIER_FRAME_HEADER_SIZE - r->header_have;
            if (n > len)
                n = len;
            memcpy(r->header + r->header_have, data, n);
            r->header_have += n;
            data += n;
            len -= n;
            if (r->header_have == DOSSIER_FRAME_HEADER_SIZE && start_frame(r, err) != 0)
                return -1;
            continue;
        }
        size_t n = r->length - r->payload_have;
        if (n > len)
            n = len;
        if (r->keep)
            memcpy(r->payload + r->payload_have, data, n);
        r->payload_have += n;
        data += n;
        len -= n;
        if (r->payload_have == r->length)
            finish_frame(r);
    }
    return 0;
}
