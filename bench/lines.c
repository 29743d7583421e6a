/*
 * bench-lines: the log throughput benchmark's worker.  Writes N lines of exactly 100 bytes to
 * stdout as fast as the reader takes them, then exits 0:
 *
 *     000000000000042 <83 filler bytes>\n
 *
 * the 15-digit line number first, so the benchmark can check that the kept files hold a
 * contiguous run of lines.  Lines are produced in blocks of BLOCK_LINES and written with one
 * write(2) per block, like a program whose stdio buffer is full; the counter is incremented in
 * ASCII so producing a line costs far less than moving it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LINE 100
#define DIGITS 15
#define BLOCK_LINES 640 /* 64000 bytes: one pipe's worth */

int main(int argc, char **argv) {
        static char block[BLOCK_LINES * LINE];
        char num[DIGITS];
        unsigned long long n, done = 0;

        if (argc != 2 || (n = strtoull(argv[1], NULL, 10)) == 0) {
                fprintf(stderr, "usage: bench-lines NUMBER_OF_LINES\n");
                return 2;
        }
        memset(num, '0', DIGITS);
        for (int k = 0; k < BLOCK_LINES; k++) {
                char *l = block + k * LINE;

                memset(l + DIGITS, ' ', 1);
                for (int j = DIGITS + 1; j < LINE - 1; j++)
                        l[j] = (char) ('a' + (j * 7 + k) % 26);
                l[LINE - 1] = '\n';
        }
        while (done < n) {
                unsigned long long k = n - done < BLOCK_LINES ? n - done : BLOCK_LINES;
                const char *p = block;
                size_t left = (size_t) k * LINE;

                for (unsigned long long i = 0; i < k; i++) {
                        memcpy(block + i * LINE, num, DIGITS);
                        for (int d = DIGITS - 1; d >= 0 && ++num[d] > '9'; d--)
                                num[d] = '0';
                }
                while (left > 0) {
                        ssize_t w = write(STDOUT_FILENO, p, left);

                        if (w < 0 && errno == EINTR)
                                continue;
                        if (w <= 0)
                                return 1;
                        p += w;
                        left -= (size_t) w;
                }
                done += k;
        }
        return 0;
}
