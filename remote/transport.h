/* How kvmqual remote reaches a device: the system's own clients, never a
 * password of its own. A transport builds argument vectors; everything
 * else (what runs on the device, in which order) is shared by ssh and adb,
 * which differ only in how a file is copied and a shell opened. */
#ifndef KQ_TRANSPORT_H
#define KQ_TRANSPORT_H

#include "../lib/util.h"

enum transport_kind { TRANSPORT_SSH, TRANSPORT_ADB };

struct transport {
	enum transport_kind kind;
	char *user;     /* ssh: NULL for the client's default */
	char *host;     /* ssh */
	int port;       /* ssh: 0 for the client's default */
	char *serial;   /* adb: NULL for adb's only device */
	int root;       /* wrap every device command in su -c */
	char **client;  /* the client's words: $KVMQUAL_SSH or "ssh", $KVMQUAL_ADB or "adb" */
	int dbclient;   /* the ssh client is dropbear's dbclient (other options) */
	char *name;     /* for messages: ssh://user@host:port, adb:SERIAL */
	char *control_path; /* OpenSSH: the socket of the one connection every command shares, or NULL */
};

/* --via ssh://[user@]host[:port] | adb[:SERIAL]. Returns 0, or -1 with err
 * naming what was wrong with via. */
int transport_parse(const char *via, int root, struct transport *t, struct kq_err *err);
void transport_free(struct transport *t);
/* OpenSSH only (not dbclient, not adb): every command from now on shares
 * one connection (ControlMaster, its socket in a private directory under
 * TMPDIR or /tmp), so that each is a channel, not a new key exchange with
 * a slow device. 0, or -1 when it cannot (then each command connects). */
int transport_share_connection(struct transport *t);
/* The argv that ends the shared connection (ssh -O exit), or NULL. */
char **transport_end_argv(const struct transport *t);

/* The argv that runs script (POSIX sh) on the device; standard input,
 * output and error pass through. */
char **transport_shell_argv(const struct transport *t, const char *script);
/* The argv that copies the local file to remote_path on the device. When
 * *stdin_path is set on return, the command reads the file on its standard
 * input (ssh: cat > PATH). */
char **transport_push_argv(const struct transport *t, const char *local, const char *remote_path,
			   const char **stdin_path);
/* The argv whose standard output is the bytes of remote_path. */
char **transport_fetch_argv(const struct transport *t, const char *remote_path);
void transport_free_argv(char **argv);

/* s single-quoted for a POSIX shell (a ' becomes '\''). */
char *sh_quote(const char *s);

#endif
