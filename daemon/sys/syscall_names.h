/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Syscall names of the build architecture, generated at build time from the kernel's UAPI
 * <asm/unistd.h> (itself generated from the kernel's syscall table), not kept by hand. */
#ifndef RTPROF_SYSCALL_NAMES_H
#define RTPROF_SYSCALL_NAMES_H

/* Name of syscall nr, or NULL when the table has none. */
const char *syscall__name(unsigned int nr);
/* Number of a syscall name, or -1. */
int syscall__nr(const char *name);

#endif
