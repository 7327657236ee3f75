// SPDX-License-Identifier: MIT
/*
 * sloopctl: the admin CLI for sloop devices, in the style of wg(8).
 * One table names every subcommand, its usage and its help text; the
 * dispatcher, `--help` and `help CMD` all read it.
 */
#include <stdio.h>
#include <string.h>

#include "cmd_broker.h"
#include "cmds.h"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
	const char *summary;
	const char *help;
};

static const struct command commands[] = {
	{ "show", sctl_cmd_show, "show [DEV|all] [--json]",
	  "show devices, peers, keys and counters",
	  "Prints each sloop device (or only DEV) with its owner, port and\n"
	  "counters, then each peer: endpoint, indices, cipher, sending key\n"
	  "phase, installed keys with their packet counts, subnets, last\n"
	  "receive and drops by reason.  When the device's sloopd answers on\n"
	  "its control socket, each peer also gets its name and the times of\n"
	  "the last handshake and the last rekey.  --json prints the same as\n"
	  "one JSON object {\"devices\":[...]}.\n" },
	{ "set", sctl_cmd_set,
	  "set DEV [padding 16|buckets] [rekey-after N] [reject-after N]\n"
	  "      [peer ID [remove] [pubkey B64] [endpoint IP:PORT|[IP6]:PORT]\n"
	  "       [rx-index N] [tx-index N]\n"
	  "       [cipher aes256gcm|aes128gcm|chacha20poly1305]\n"
	  "       [hp-tx-key HEX] [hp-rx-key HEX]\n"
	  "       [subnets CIDR[,CIDR...]] [replace-subnets]\n"
	  "       [key PHASE tx-key HEX tx-salt HEX rx-key HEX rx-salt HEX [id N]]\n"
	  "       [swap PHASE] [del-key PHASE]]...",
	  "change device options, peers and keys",
	  "Device options come before the first 'peer'.  A peer that does not\n"
	  "exist yet is created, otherwise its given attributes are changed;\n"
	  "then its key operations run in order.  Every HEX value may be\n"
	  "written @FILE to read it from a file, keeping keys out of ps.\n"
	  "Keys and header-protection keys are 16 or 32 bytes, salts 4.\n" },
	{ "attach", sctl_cmd_attach,
	  "attach DEV [port N] [family 4|6|dual] [--ready-file F]",
	  "own DEV: bind its UDP socket and stay in the foreground",
	  "Binds a UDP socket (port 5653 and dual-stack by default), hands it\n"
	  "to DEV and stays in the foreground as the device's owner, printing\n"
	  "each received control message as 'ctrl peer ID HEX'.  SIGTERM or\n"
	  "SIGINT detaches and exits; if the process dies, the kernel drops\n"
	  "the device's peers and keys and releases the socket.  With\n"
	  "--ready-file, F is written (with the pid) once attached.\n" },
	{ "ctrl", sctl_cmd_ctrl, "ctrl DEV peer ID HEX|-",
	  "send a control message to a peer",
	  "Sends HEX (or hex read from standard input for '-') as a control\n"
	  "message to peer ID, encrypted like data.\n" },
	{ "monitor", sctl_cmd_monitor, "monitor [DEV]",
	  "print peer-down, key-limit and endpoint notifications",
	  "Prints one line per notification until SIGTERM or SIGINT:\n"
	  "  peer-down DEV peer ID reason REASON\n"
	  "  key-limit DEV peer ID phase PHASE\n"
	  "  endpoint DEV peer ID ADDRESS\n" },
	{ "batch", sctl_cmd_batch, "batch < COMMANDS",
	  "run 'set' lines from standard input on one socket",
	  "Reads lines of the form 'set DEV ...' (the arguments of 'sloopctl\n"
	  "set', split on white space) from standard input and applies each in\n"
	  "turn, answering 'ok' or 'error' on standard output once it is done.\n"
	  "Empty lines and lines starting with # are skipped.  Exits with 1 if\n"
	  "any line failed.\n" },
	{ "rekey", sctl_cmd_rekey, "rekey LINK [PEER]", "make sloopd rekey now (all peers or PEER)", "Asks the sloopd of LINK (its linkname, else its device) over its root-only\ncontrol socket $SLOOPD_RUN/LINK.sock (default /run/sloop) to start a\nhitless rekey with every peer whose session is up, or only with PEER.\n" },
	{ "flush-keys", sctl_cmd_flush_keys, "flush-keys LINK [PEER]", "drop a session's keys and renegotiate", "Makes sloopd drop every key of the sessions (all, or PEER's) and\nrun a new handshake at once; a primary asks its secondary to reconnect.\n" },
	{ "shutdown", sctl_cmd_shutdown, "shutdown LINK [PEER|all]", "close sessions, telling the peers (P3)", "Closes the session with PEER (default: all), sending a SHUTDOWN\ncontrol message first so that the peer runs ip-down at once.  A\nsecondary without persist then exits; with persist it reconnects later.\n" },
	{ "dump", sctl_cmd_dump, "dump LINK", "print a running sloopd's merged options", "Prints the options the sloopd of LINK runs with, each with its source,\nin option-file syntax.\n" },
	{ "invite", sctl_cmd_invite, "invite LINK",
	  "a one-time invitation into LINK's loop",
	  "Asks the sloopd of LINK, a loop member, for an invitation code from\n"
	  "the broker (valid one day, usable once) and prints it as\n"
	  "'invite CODE'.  The invited device uses it as 'invite CODE' in its\n"
	  "options and waits for approval.\n" },
	{ "pending", sctl_cmd_pending, "pending LINK",
	  "devices waiting in LINK's loop for approval",
	  "Prints one line per device that joined LINK's loop with an\n"
	  "invitation and waits for members to approve it:\n"
	  "  pending name=NAME device=KEY addr4=A addr6=A approvals=K/POLICY\n" },
	{ "approve", sctl_cmd_approve, "approve LINK DEVICE",
	  "sign a waiting device's membership",
	  "The sloopd of LINK signs a membership credential for DEVICE (its\n"
	  "name, or six or more leading characters of its key) and gives it to\n"
	  "the broker.  Under policy 2 a second member (or the founder) must\n"
	  "approve too; the answer says so.\n" },
	{ "reject", sctl_cmd_reject, "reject LINK DEVICE",
	  "turn a waiting device away",
	  "Removes DEVICE from the loop's waiting room; its invitation is spent.\n" },
	{ "revoke", sctl_cmd_revoke, "revoke LINK MEMBER",
	  "sign a member out of LINK's loop",
	  "The sloopd of LINK signs a revocation of MEMBER (its name, or six or\n"
	  "more leading characters of its key).  It holds at once on this device,\n"
	  "is passed on over the control channel to every member with a\n"
	  "session (they pass it on in turn), and is given to the broker when\n"
	  "it is reachable.  Nothing brings a revoked device back.\n" },
	{ "broker", sctl_cmd_broker, SCTL_BROKER_USAGE, "administer a sloop-scb broker: users, devices, loops", SCTL_BROKER_HELP },
	{ "genkey", sctl_cmd_genkey, "genkey",
	  "print a new Ed25519 secret key (base64)",
	  "Prints a new device secret key: the 32-byte Ed25519 seed in\n"
	  "base64.  Use it as: umask 077; sloopctl genkey > device.key\n" },
	{ "pubkey", sctl_cmd_pubkey, "pubkey < SECRET",
	  "print the public key of a secret key read on stdin",
	  "Reads a secret key from genkey on standard input and prints its\n"
	  "Ed25519 public key in base64.\n" },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (!strcmp(name, commands[i].name))
			return &commands[i];
	return NULL;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: sloopctl <command> [arguments]\n\n"
		   "Commands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %-11s %s\n", commands[i].name,
			commands[i].summary);
	fprintf(f, "\n'sloopctl help COMMAND' describes one command; "
		   "--version prints the version.\n");
}

static int help(int argc, char **argv)
{
	const struct command *c;

	if (argc < 1) {
		usage(stdout);
		return 0;
	}
	c = find_command(argv[0]);
	if (!c) {
		fprintf(stderr, "sloopctl: unknown command '%s'\n", argv[0]);
		return 1;
	}
	printf("Usage: sloopctl %s\n\n%s", c->usage, c->help);
	return 0;
}

int main(int argc, char **argv)
{
	const struct command *c;

	if (argc < 2) {
		/* Like `wg` alone: show everything. */
		return sctl_cmd_show(0, argv + 1);
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("sloopctl %s\n", SLOOP_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "help"))
		return help(argc - 2, argv + 2);
	c = find_command(argv[1]);
	if (!c) {
		fprintf(stderr, "sloopctl: unknown command '%s'\n", argv[1]);
		usage(stderr);
		return 1;
	}
	return c->fn(argc - 2, argv + 2);
}
