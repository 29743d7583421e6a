/*
 * A destination's ring buffer: one producer (the event loop) fills it with whole lines, one
 * consumer (the writer thread) writes them out.
 *
 * The positions only grow: `tail` is advanced by the producer after it filled the bytes, with
 * release; `head` by the consumer after write(2) returned, with release; each side reads the
 * other's with acquire.  Nothing else is shared but `want_space`.  A byte at position p is at
 * buf[p % cap].
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "logline.h"
#include "macro.h"

typedef struct LogRing {
        char *buf;
        size_t cap;
        _Atomic uint64_t tail;    /* producer: bytes committed */
        _Atomic uint64_t head;    /* consumer: bytes written */
        atomic_bool want_space;   /* the producer waits for room (ring_want_space) */

        /* producer */
        uint64_t loop_tail;
        uint64_t trimmed_tail;    /* loop_tail when the pages were last given back */
        usec_t last_commit;
} LogRing;

/* Map cap bytes (no memory is used until they are written); -ENOMEM. */
int ring_init(LogRing *r, size_t cap);
void ring_done(LogRing *r);

/* Producer: the free part, to be filled in order, then committed. */
LineOut ring_reserve(LogRing *r);
void ring_commit(LogRing *r, size_t n);
size_t ring_free_space(const LogRing *r);
/* The producer stops for lack of room: true when there is room already (go on); otherwise
 * ring_room_back() says when to wake it. */
bool ring_want_space(LogRing *r);

/* Consumer: the bytes not written yet, from *ret_head; then how many were written. */
size_t ring_pending(LogRing *r, uint64_t *ret_head);
void ring_consumed(LogRing *r, uint64_t head, size_t n);
/* After ring_consumed(): true once when the producer waits and half of the ring is free. */
bool ring_room_back(LogRing *r);
bool ring_empty(LogRing *r);

/* n bytes from position pos as at most two regions (they may wrap around the end); the
 * number of regions used. */
int ring_span(const LogRing *r, uint64_t pos, size_t n, struct iovec iov[static 2]);
