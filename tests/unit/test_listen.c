/*
 * Unit tests of held sockets' pure part (lib/listen.h): the address syntax, LISTEN_FDNAMES,
 * {fd:NAME} in a command, LISTEN_PID written without allocation, and the /proc/net lines that
 * name who holds an address.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <cmocka.h>

#include "listen.h"

static void test_parse_tcp(void **state) {
        const struct sockaddr_in *in;
        const struct sockaddr_in6 *in6;
        ListenAddress a;
        const char *err = NULL;

        (void) state;
        assert_int_equal(listen_address_parse("tcp://127.0.0.1:8000", &a, &err), 0);
        assert_int_equal(a.family, LISTEN_TCP4);
        assert_int_equal(a.port, 8000);
        in = (const struct sockaddr_in *) &a.sa;
        assert_int_equal(in->sin_family, AF_INET);
        assert_int_equal(ntohs(in->sin_port), 8000);
        assert_int_equal(ntohl(in->sin_addr.s_addr), 0x7f000001);
        assert_int_equal(a.sa_len, sizeof(struct sockaddr_in));

        assert_int_equal(listen_address_parse("tcp://[::]:8080", &a, &err), 0);
        assert_int_equal(a.family, LISTEN_TCP6);
        in6 = (const struct sockaddr_in6 *) &a.sa;
        assert_int_equal(in6->sin6_family, AF_INET6);
        assert_int_equal(ntohs(in6->sin6_port), 8080);
        assert_true(IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr));
        assert_int_equal(listen_address_parse("tcp://[::1]:1", &a, &err), 0);
        assert_true(IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr));
        assert_int_equal(listen_address_parse("tcp://0.0.0.0:65535", &a, &err), 0);
}

static void test_parse_bad(void **state) {
        static const char *const bad[] = {
                "", "tcp://", "tcp://127.0.0.1", "tcp://127.0.0.1:", "tcp://127.0.0.1:0",
                "tcp://127.0.0.1:65536", "tcp://127.0.0.1:80x", "tcp://localhost:80",
                "tcp://[::]80", "tcp://[::1:80", "tcp://::1:80", "tcp://:80", "tcp://[]:80",
                "tcp://1.2.3.4:-1", "udp://1.2.3.4:80", "unix:", "unix:relative.sock",
                "http://127.0.0.1:80", "tcp://127.0.0.1:+80",
        };
        ListenAddress a;

        (void) state;
        for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
                const char *err = NULL;

                assert_int_equal(listen_address_parse(bad[k], &a, &err), -EINVAL);
                assert_non_null(err);
                assert_non_null(strstr(err, "expected"));
        }
        assert_int_equal(listen_address_parse(NULL, &a, NULL), -EINVAL);
}

static void test_parse_unix(void **state) {
        const struct sockaddr_un *un;
        char longpath[200];
        ListenAddress a;
        const char *err;

        (void) state;
        assert_int_equal(listen_address_parse("unix:/run/app.sock", &a, &err), 0);
        assert_int_equal(a.family, LISTEN_UNIX);
        assert_string_equal(a.path, "/run/app.sock");
        un = (const struct sockaddr_un *) &a.sa;
        assert_int_equal(un->sun_family, AF_UNIX);
        assert_string_equal(un->sun_path, "/run/app.sock");
        assert_int_equal(a.sa_len, offsetof(struct sockaddr_un, sun_path) + 14);

        memset(longpath, 'a', sizeof longpath);
        memcpy(longpath, "unix:/", 6);
        longpath[5 + 107] = '\0'; /* 107 bytes of path: fits */
        assert_int_equal(listen_address_parse(longpath, &a, &err), 0);
        longpath[5 + 107] = 'a';
        longpath[5 + 108] = '\0';
        assert_int_equal(listen_address_parse(longpath, &a, &err), -EINVAL);
}

static void test_fdnames(void **state) {
        char *names[] = { "web", "admin", NULL }, *none[] = { NULL }, *s = NULL;

        (void) state;
        assert_int_equal(listen_fdnames(names, &s), 0);
        assert_string_equal(s, "web:admin");
        free(s);
        s = (char *) 1;
        assert_int_equal(listen_fdnames(none, &s), 0);
        assert_null(s);
        assert_int_equal(listen_fdnames(NULL, &s), 0);
        assert_null(s);
}

static void test_expand(void **state) {
        char *names[] = { "web", "admin", NULL }, *s = NULL;
        const char *bad = NULL, *arg;

        (void) state;
        assert_int_equal(listen_expand_fds("fd://{fd:web}", names, &s, &bad), 0);
        assert_string_equal(s, "fd://3");
        free(s);
        assert_int_equal(listen_expand_fds("{fd:admin},{fd:web}{fd:admin}", names, &s, &bad), 0);
        assert_string_equal(s, "4,34");
        free(s);
        /* not a reference: left alone */
        assert_int_equal(listen_expand_fds("{fd:web", names, &s, &bad), 0);
        assert_string_equal(s, "{fd:web");
        free(s);
        assert_int_equal(listen_expand_fds("plain {fd} {x:web}", names, &s, &bad), 0);
        assert_string_equal(s, "plain {fd} {x:web}");
        free(s);
        arg = "--bind fd://{fd:api}";
        assert_int_equal(listen_expand_fds(arg, names, &s, &bad), -ENOENT);
        assert_ptr_equal(bad, arg + 16);
        assert_int_equal(listen_expand_fds("{fd:}", names, &s, &bad), -ENOENT);
        assert_int_equal(listen_expand_fds("{fd:web}", NULL, &s, &bad), -ENOENT);
}

static void test_format_pid(void **state) {
        char buf[LISTEN_PID_MAX];

        (void) state;
        listen_format_pid(buf, 1);
        assert_string_equal(buf, "LISTEN_PID=1");
        listen_format_pid(buf, 4194304);
        assert_string_equal(buf, "LISTEN_PID=4194304");
        listen_format_pid(buf, 2147483647);
        assert_string_equal(buf, "LISTEN_PID=2147483647");
        listen_format_pid(buf, 0);
        assert_string_equal(buf, "LISTEN_PID=0");
}

static void test_procnet(void **state) {
        const char *head = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when "
                           "retrnsmt   uid  timeout inode";
        const char *listening = "   0: 0100007F:1F40 00000000:0000 0A 00000000:00000000 "
                                "00:00000000 00000000  1000        0 123456 1 0000000000000000 "
                                "100 0 0 10 0";
        const char *established = "   1: 0100007F:1F40 0100007F:D2C4 01 00000000:00000000 "
                                  "00:00000000 00000000  1000        0 654321 1";
        const char *v6 = "   0: 00000000000000000000000000000000:1F90 "
                         "00000000000000000000000000000000:0000 0A 00000000:00000000 "
                         "00:00000000 00000000     0        0 777 1";
        const char *ux_head = "Num       RefCount Protocol Flags    Type St Inode Path";
        const char *ux = "0000000000000000: 00000002 00000000 00010000 0001 01 4242 /run/app.sock\n";
        const char *ux_conn = "0000000000000000: 00000002 00000000 00000000 0001 03 4343 "
                              "/run/app.sock";
        unsigned long inode = 0;

        (void) state;
        assert_false(listen_procnet_tcp(head, 8000, &inode));
        assert_true(listen_procnet_tcp(listening, 8000, &inode));
        assert_int_equal(inode, 123456);
        assert_false(listen_procnet_tcp(listening, 8001, &inode));
        assert_false(listen_procnet_tcp(established, 8000, &inode));
        assert_true(listen_procnet_tcp(v6, 8080, &inode));
        assert_int_equal(inode, 777);
        assert_false(listen_procnet_tcp("", 8000, &inode));

        assert_false(listen_procnet_unix(ux_head, "/run/app.sock", &inode));
        assert_true(listen_procnet_unix(ux, "/run/app.sock", &inode));
        assert_int_equal(inode, 4242);
        assert_false(listen_procnet_unix(ux, "/run/app.so", &inode));
        assert_false(listen_procnet_unix(ux, "/run/app.sock2", &inode));
        assert_false(listen_procnet_unix(ux_conn, "/run/app.sock", &inode));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_tcp),    cmocka_unit_test(test_parse_bad),
                cmocka_unit_test(test_parse_unix),   cmocka_unit_test(test_fdnames),
                cmocka_unit_test(test_expand),       cmocka_unit_test(test_format_pid),
                cmocka_unit_test(test_procnet),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
