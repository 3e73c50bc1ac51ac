/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Stack profiles (model/profiles.h) as pprof profiles (profile.proto, encoded with protobuf-c from
 * model/pprof/profile.proto), for `rtprof export --format pprof` and rtprofd's pushes to Pyroscope.
 *
 * Two values a sample, the count first as the format's convention asks: on CPU [samples count, cpu
 * nanoseconds] (period: one sample, 1e9 / sample_hz ns); off CPU [intervals count, off_cpu nanoseconds];
 * GIL [waits count, gil_wait nanoseconds]; syscalls [calls count, syscall nanoseconds]. Functions carry
 * their file and first line, locations their line; each sample is labelled with its pid, tid, process and
 * thread names (and off CPU its state, in syscalls the syscall). */
#ifndef RTPROF_PPROF_H
#define RTPROF_PPROF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "model/profiles.h"

/* The names of processes and threads for the labels (NULL or "": "?"). */
struct pprof_names {
	const char *(*process)(void *ctx, pid_t pid);
	const char *(*thread)(void *ctx, pid_t tid);
	void *ctx;
};

/* The rows of one kind (syscalls: of the syscall named, or all of them when syscall is NULL or "") as a
 * profile.proto message, not compressed, in *out (free it); time_ns: when the profile starts (Unix epoch),
 * duration_ns: its length. 0 or -ENOMEM. */
int pprof__encode(const struct rtp_profiles *p, unsigned int kind, const char *syscall,
		  const struct pprof_names *names, int64_t time_ns, int64_t duration_ns, uint8_t **out, size_t *len);

/* gzip of a buffer (pprof's form on disk and on the wire): 0 or -ENOMEM/-EIO; free *out. */
int pprof__gzip(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len);

#endif
