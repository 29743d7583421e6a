/*
 * libFuzzer harness: the request loop of a control connection (control.c's client_serve() and
 * on_client() without the socket), on the pure pieces it is made of: ProtoReader cutting what
 * arrives into lines, proto_may_serve() deciding when to stop reading, proto_decode_request() on
 * each line.
 *
 * The input is a script.  Its first byte picks the client (trusted or read-only) and how much the
 * other read-only clients hold; then each byte is an event: a high bit set delivers that many
 * bytes of the rest of the input (as a recv() would, at most the free space; 0xff a third of
 * the buffer without a newline), otherwise the
 * client reads some of its answers, or a turn of the loop serves lines.  At the end the client
 * reads everything and the loop turns until it is idle.
 *
 * What must hold: every line handed out is exactly the bytes received up to the next newline, in
 * order, none lost or repeated; no line is longer than PROTO_MAX_REQUEST; a turn serves at most
 * PROTO_LINES_PER_WAKEUP lines; the queue never passes its budget by more than one answer; and a
 * client that reads its answers always gets every complete line served (no stall).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

#define CHECK(x)                                                                     \
        do {                                                                         \
                if (!(x)) {                                                          \
                        fprintf(stderr, "fuzz_reqloop: %s failed at line %d\n", #x, __LINE__); \
                        abort();                                                     \
                }                                                                    \
        } while (0)

#define FILLER (PROTO_MAX_REQUEST / 3)
/* enough to outgrow the buffer several times over; more would only make each run slower (every
 * filler grows the copy of the stream), so later 0xff bytes are plain events */
#define MAX_FILLERS 16
#define MAX_INPUT 8192 /* make fuzz's -max_len */

/* static, not allocated per run: ASan maps and clears large allocations, which cost more than
 * the run itself (global redzones still catch an overrun) */
static char reader_buf[PROTO_MAX_REQUEST];
static uint8_t stream_buf[MAX_INPUT + MAX_FILLERS * FILLER];

typedef struct Sim {
        ProtoReader r;
        const uint8_t *stream; /* everything delivered, in order */
        size_t delivered, taken; /* bytes handed to the reader; bytes accounted for by lines */
        size_t queued, readers_queued, largest;
        bool trusted, refused;
        size_t served;
} Sim;

/* The answer control.c would queue: its size is what matters for the budgets. */
static size_t answer_size(const char *line, size_t len) {
        ProtoRequest req = {};
        const char *error = NULL;
        size_t n;

        if (proto_decode_request(line, len, &req, &error) < 0) {
                CHECK(error && !req.json);
                return 69; /* {"ok":false,"error":"invalid JSON request","code":"invalid-request"} */
        }
        CHECK(req.cmd && req.json);
        /* a status answer can be large: model it from the request, up to a few budgets */
        n = strcmp(req.cmd, "status") == 0 ? 1500 * (len + 1) : 60 + strlen(req.cmd);
        proto_request_done(&req);
        return n;
}

/* One turn of the loop for this client: true when it served something. */
static bool turn(Sim *s) {
        unsigned k;

        for (k = 0; k < PROTO_LINES_PER_WAKEUP; k++) {
                const char *line;
                size_t len, a;
                int r;

                if (!proto_may_serve(s->queued, s->readers_queued, s->trusted))
                        break;
                r = proto_reader_next(&s->r, &line, &len);
                if (r == -EMSGSIZE) {
                        CHECK(s->r.len - s->r.off == PROTO_MAX_REQUEST);
                        CHECK(!memchr(s->r.buf + s->r.off, '\n', s->r.len - s->r.off));
                        s->refused = true; /* "request too long": the connection goes */
                        return false;
                }
                CHECK(r == 0 || r == 1);
                if (r == 0)
                        break;
                /* the line is exactly the next bytes of the stream, and holds no newline */
                CHECK(len < PROTO_MAX_REQUEST);
                CHECK(s->taken + len < s->delivered);
                CHECK(memcmp(line, s->stream + s->taken, len) == 0);
                CHECK(!memchr(line, '\n', len));
                CHECK(s->stream[s->taken + len] == '\n');
                s->taken += len + 1;
                s->served++;

                a = answer_size(line, len);
                CHECK(s->queued < PROTO_CLIENT_QUEUE);
                s->queued += a;
                if (!s->trusted)
                        s->readers_queued += a;
                s->largest = a > s->largest ? a : s->largest;
                CHECK(s->queued <= PROTO_CLIENT_QUEUE + s->largest);
        }
        CHECK(k <= PROTO_LINES_PER_WAKEUP);
        return k > 0;
}

static void client_reads(Sim *s, size_t n) {
        n = n < s->queued ? n : s->queued;
        s->queued -= n;
        if (!s->trusted)
                s->readers_queued -= n < s->readers_queued ? n : s->readers_queued;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        Sim s = {};
        size_t i = 1, n_nl = 0;
        unsigned idle = 0;

        if (size < 1 || size > MAX_INPUT)
                return -1;
        s.r.buf = reader_buf;
        s.trusted = data[0] & 1;
        /* what the other read-only clients hold: nothing, some, or the whole total budget */
        s.readers_queued = (size_t) (data[0] >> 1 & 3) * (PROTO_TOTAL_QUEUE / 3);

        /* the stream is the bytes delivered, taken from the input in order; 0xff delivers
         * FILLER bytes without a newline instead, so that a request can outgrow the buffer */
        size_t cap = size;
        for (size_t k = 1, n = 0; k < size; k++)
                cap += data[k] == 0xff && n++ < MAX_FILLERS ? FILLER : 0;
        CHECK(cap <= sizeof(stream_buf));
        uint8_t *stream = stream_buf;
        s.stream = stream;
        unsigned fillers = 0;
        while (i < size && !s.refused) {
                uint8_t op = data[i++];

                if (op == 0xff && fillers++ < MAX_FILLERS) {
                        char *p;
                        size_t space = proto_reader_space(&s.r, &p);
                        size_t want = FILLER < space ? FILLER : space;

                        memset(p, 'x', want);
                        memset(stream + s.delivered, 'x', want);
                        proto_reader_fill(&s.r, want);
                        s.delivered += want;
                } else if (op & 0x80) {
                        char *p;
                        size_t want = (size_t) (op & 0x7f) * 97 + 1, space;

                        want = want < size - i ? want : size - i;
                        space = proto_reader_space(&s.r, &p);
                        CHECK(space <= PROTO_MAX_REQUEST);
                        CHECK(s.r.off == 0);
                        want = want < space ? want : space;
                        memcpy(p, data + i, want);
                        memcpy(stream + s.delivered, data + i, want);
                        proto_reader_fill(&s.r, want);
                        s.delivered += want;
                        i += want;
                        CHECK(s.r.len <= PROTO_MAX_REQUEST);
                } else if (op & 0x40)
                        client_reads(&s, (size_t) (op & 0x3f) << 16);
                else {
                        /* the other read-only clients read some of theirs now and then */
                        if (op & 0x20 && s.readers_queued > s.queued)
                                s.readers_queued = s.queued;
                        (void) turn(&s);
                }
        }
        if (!s.refused) {
                /* the client reads everything from now on: every complete line gets served */
                s.readers_queued = s.trusted ? s.readers_queued : 0;
                for (;;) {
                        bool any;

                        client_reads(&s, SIZE_MAX);
                        any = turn(&s);
                        if (s.refused)
                                break;
                        if (!any && ++idle > 1)
                                break;
                        if (any)
                                idle = 0;
                }
                if (!s.refused) {
                        for (size_t k = 0; k < s.delivered; k++)
                                n_nl += stream[k] == '\n';
                        CHECK(s.served == n_nl);
                        CHECK(!proto_reader_has_line(&s.r));
                        CHECK(s.delivered - s.taken == s.r.len - s.r.off);
                }
        }
        return 0;
}
