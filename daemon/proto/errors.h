/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The protocol's error codes (docs/protocol.md, Errors): one table, read both ways -- the daemon turns
 * an errno into the code it sends, the client turns the code back into the same errno. */
#ifndef RTPROF_PROTO_ERRORS_H
#define RTPROF_PROTO_ERRORS_H

/* err: an errno, either sign. Its wire code ("EPERM"); an errno the table lacks is sent as "EIO". */
const char *proto__error_code(int err);
/* A wire code back to its errno (positive); a code the table lacks is EIO. */
int proto__error_errno(const char *code);
/* What the code means, for a reply that carries no message. */
const char *proto__error_meaning(int err);

#endif
