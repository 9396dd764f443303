/*
 * prog.h: what zitadel-credential and zitadelctl both do at start and at
 * exit (libzitadel-prog, libc only; not part of the library's API).
 */
#ifndef ZT_PROG_H
#define ZT_PROG_H

/* No core file and no ptrace by the user's other processes: the program
 * holds a private key or a token. */
void zt_prog_harden(void);

/*
 * A caller may start a program with descriptor 0, 1 or 2 closed; the next
 * open() (a key file, a socket) would get that number and output would
 * land there. Each closed one gets /dev/null, stdout read-only so that
 * writing the output fails and says so instead of vanishing. Returns -1
 * when /dev/null cannot be opened, else 0.
 */
int zt_prog_std_fds_open(void);

/* Flush and close stdout: 0 when everything written reached it, else an
 * errno value for the message. */
int zt_prog_close_stdout(void);

#endif /* ZT_PROG_H */
