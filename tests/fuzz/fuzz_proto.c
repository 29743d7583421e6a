/* libFuzzer harness: the control-request decoder, proto_decode_request(), on one request line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        ProtoRequest r = {};
        const char *error = NULL;

        /* upkeepd hands over at most PROTO_MAX_REQUEST bytes before a newline */
        if (size > PROTO_MAX_REQUEST)
                return -1;
        if (proto_decode_request((const char *) data, size, &r, &error) >= 0) {
                if (!r.cmd || !r.json || strlen(r.cmd) > size)
                        abort();
                proto_request_done(&r);
        } else if (!error || r.json)
                abort();
        return 0;
}
