/*
 * supervisord.conf import: a [fcgi-program:x] is a [program:x] whose processes share a socket
 * supervisord binds (socket=) and passes as standard input.  It becomes that program's
 * worker(s) with a listen section and stdin-socket.
 */
#pragma once

#include "svdemit.h"

int svd_translate_fcgi(Parser *p, const Globals *g, const Section *s, Outs *outs);
