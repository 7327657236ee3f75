/* SPDX-License-Identifier: MIT */
/*
 * sloopctl: one entry point per subcommand.  argv[0] is the first
 * argument after the command name; each returns the exit status.
 */
#ifndef SLOOPCTL_CMDS_H
#define SLOOPCTL_CMDS_H

int sctl_cmd_genkey(int argc, char **argv);
int sctl_cmd_pubkey(int argc, char **argv);
int sctl_cmd_show(int argc, char **argv);
int sctl_cmd_set(int argc, char **argv);
int sctl_cmd_attach(int argc, char **argv);
int sctl_cmd_ctrl(int argc, char **argv);
int sctl_cmd_monitor(int argc, char **argv);
int sctl_cmd_batch(int argc, char **argv);
int sctl_cmd_rekey(int argc, char **argv);
int sctl_cmd_flush_keys(int argc, char **argv);
int sctl_cmd_shutdown(int argc, char **argv);
int sctl_cmd_dump(int argc, char **argv);
int sctl_cmd_invite(int argc, char **argv);
int sctl_cmd_pending(int argc, char **argv);
int sctl_cmd_approve(int argc, char **argv);
int sctl_cmd_reject(int argc, char **argv);
int sctl_cmd_revoke(int argc, char **argv);

/* `set` on an already open socket (batch runs many). */
struct snl;
int sctl_set_run(struct snl *nl, int argc, char **argv);

#endif
