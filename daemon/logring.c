/*
 * A destination's ring buffer (see logring.h).
 */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "clock.h"
#include "logring.h"

/* An empty ring is given back to the kernel when this much went through it since the last
 * time and the producer was quiet for TRIM_IDLE (see ring_reserve): a worker that logs now
 * and then keeps about TRIM_BYTES resident, one that writes without pause is never trimmed (a
 * trimmed page costs a fault when it is written again). */
#define TRIM_BYTES (16 * 1024)
#define TRIM_IDLE (200 * USEC_PER_MSEC)

int ring_init(LogRing *r, size_t cap) {
        /* mapped, not malloc'ed: no allocator header is written into it, so a ring costs no
         * memory until its worker writes */
        r->buf = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (r->buf == MAP_FAILED) {
                r->buf = NULL;
                return -ENOMEM;
        }
        r->cap = cap;
        return 0;
}

void ring_done(LogRing *r) {
        if (r->buf)
                (void) munmap(r->buf, r->cap);
        r->buf = NULL;
}

size_t ring_free_space(const LogRing *r) {
        return r->cap - (size_t) (r->loop_tail - atomic_load_explicit(&r->head,
                                                                     memory_order_acquire));
}

/*
 * The positions only grow, so a worker that writes a line now and then touches every page of
 * its ring in turn and would keep them all (workers x buffer-size).  When the ring is empty
 * the producer owns all of it (the consumer reads only between head and tail, and is done with
 * a byte once head passed it), so its pages can go back to the kernel; they come back zeroed
 * when used.  Only after a pause, so a chatty worker's ring is never trimmed between two reads.
 */
static void ring_trim(LogRing *r) {
        uintptr_t page = (uintptr_t) sysconf(_SC_PAGESIZE);
        uintptr_t a = ((uintptr_t) r->buf + page - 1) & ~(page - 1);
        uintptr_t b = ((uintptr_t) r->buf + r->cap) & ~(page - 1);

        if (b > a)
                (void) madvise((void *) a, b - a, MADV_DONTNEED);
        r->trimmed_tail = r->loop_tail;
}

LineOut ring_reserve(LogRing *r) {
        size_t free, off, first;

        if (r->loop_tail - r->trimmed_tail >= TRIM_BYTES &&
            r->loop_tail == atomic_load_explicit(&r->head, memory_order_acquire) &&
            clock_mono_usec() - r->last_commit >= TRIM_IDLE)
                ring_trim(r);
        free = ring_free_space(r);
        off = (size_t) (r->loop_tail % r->cap);
        first = MIN(free, r->cap - off);

        return (LineOut) { .seg = { r->buf + off, r->buf }, .cap = { first, free - first } };
}

void ring_commit(LogRing *r, size_t n) {
        r->loop_tail += n;
        r->last_commit = clock_mono_usec();
        atomic_store_explicit(&r->tail, r->loop_tail, memory_order_release);
}

bool ring_want_space(LogRing *r) {
        atomic_store(&r->want_space, true);
        /* the consumer may have freed space before it could see the flag */
        if (ring_free_space(r) > r->cap / 2) {
                atomic_store(&r->want_space, false);
                return true;
        }
        return false;
}

size_t ring_pending(LogRing *r, uint64_t *ret_head) {
        uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
        uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);

        *ret_head = head;
        return (size_t) (tail - head);
}

void ring_consumed(LogRing *r, uint64_t head, size_t n) {
        atomic_store_explicit(&r->head, head + (uint64_t) n, memory_order_release);
}

bool ring_room_back(LogRing *r) {
        uint64_t used;

        /* pairs with ring_want_space(): our head store must be visible before we read the
         * flag, or both sides could miss each other */
        atomic_thread_fence(memory_order_seq_cst);
        used = atomic_load(&r->tail) - atomic_load(&r->head);
        return (used == 0 || used <= r->cap / 2) && atomic_load(&r->want_space) &&
               atomic_exchange(&r->want_space, false);
}

bool ring_empty(LogRing *r) {
        return atomic_load(&r->head) == atomic_load(&r->tail);
}

int ring_span(const LogRing *r, uint64_t pos, size_t n, struct iovec iov[static 2]) {
        size_t off = (size_t) (pos % r->cap), first = MIN(n, r->cap - off);

        iov[0] = (struct iovec) { r->buf + off, first };
        iov[1] = (struct iovec) { r->buf, n - first };
        return iov[1].iov_len > 0 ? 2 : 1;
}
