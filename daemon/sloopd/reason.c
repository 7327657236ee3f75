// SPDX-License-Identifier: MIT
/*
 * The reason-code table.  Order follows enum reason so lookups by value
 * are an index; a unit test checks that the two stay in step.
 */
#include <stdarg.h>
#include <string.h>

#include "reason.h"

#define R(e, c, n, d) [e] = { e, c, n, d }

static const struct reason_info reasons[REASON_COUNT] = {
	R(REASON_OK, "E000", "ok", "no error"),

	R(REASON_CFG_SYNTAX, "E101", "cfg-syntax",
	  "malformed option file: unterminated quote, bad escape or dangling backslash"),
	R(REASON_CFG_UNKNOWN, "E102", "cfg-unknown",
	  "unknown option name"),
	R(REASON_CFG_MISSING_ARG, "E103", "cfg-missing-arg",
	  "an option is missing its argument"),
	R(REASON_CFG_BAD_VALUE, "E104", "cfg-bad-value",
	  "an option value does not parse (number, address, endpoint, key, list)"),
	R(REASON_CFG_RANGE, "E105", "cfg-range",
	  "an option value is outside its allowed range"),
	R(REASON_CFG_NOFILE, "E106", "cfg-nofile",
	  "an option file named by call, file or p3-config cannot be opened"),
	R(REASON_CFG_DEPTH, "E107", "cfg-depth",
	  "option files nested deeper than the limit"),
	R(REASON_CFG_LOOP, "E108", "cfg-loop",
	  "an option file includes itself, directly or indirectly"),
	R(REASON_CFG_PRIV, "E109", "cfg-privileged",
	  "a non-privileged source tried to override a privileged option set by root"),
	R(REASON_CFG_CONFLICT, "E110", "cfg-conflict",
	  "the merged options are inconsistent (missing role, key, peer key, ...)"),
	R(REASON_CFG_TOOBIG, "E111", "cfg-too-big",
	  "an option or P3 file is larger than the limit"),
	R(REASON_CFG_BADNAME, "E112", "cfg-bad-name",
	  "a call name, link name or device name contains forbidden characters"),

	R(REASON_P3_SYNTAX, "E120", "p3-syntax",
	  "malformed line in a P3 configuration file"),
	R(REASON_P3_UNKNOWN, "E121", "p3-unknown",
	  "unknown keyword in a P3 configuration file"),
	R(REASON_P3_VALUE, "E122", "p3-bad-value",
	  "bad number or address in a P3 configuration file"),
	R(REASON_P3_SUBNET, "E123", "p3-subnet",
	  "P3 subnet without mask (or mask without subnet), or a non-contiguous mask"),
	R(REASON_P3_DUP, "E124", "p3-duplicate",
	  "duplicate remote host or keyword in a P3 configuration file"),
	R(REASON_P3_SECTION, "E125", "p3-section",
	  "P3 localstart/localend section missing, repeated or misplaced"),
	R(REASON_P3_UNIMPL, "W126", "p3-not-implemented",
	  "warning: a P3 keyword was parsed but sloop does not implement it"),

	R(REASON_PERM_KEYFILE, "E201", "perm-keyfile",
	  "key or PSK file not owned by root or accessible by group/others"),
	R(REASON_PERM_OPTFILE, "E202", "perm-optfile",
	  "option file holding a secret not owned by root or accessible by group/others"),
	R(REASON_PERM_NOTREG, "E203", "perm-not-regular",
	  "key, PSK or option file is not a regular file"),
	R(REASON_KEY_READ, "E204", "key-read",
	  "key or PSK file cannot be opened or read"),
	R(REASON_KEY_FORMAT, "E205", "key-format",
	  "malformed key (not base64 of the right length)"),

	R(REASON_HS_BAD_PEER_KEY, "E301", "hs-bad-peer-key",
	  "handshake from or to a peer whose static key is not configured"),
	R(REASON_HS_REPLAY, "E302", "hs-replay",
	  "replayed handshake initiation (timestamp not newer than the last one)"),
	R(REASON_HS_TIMESTAMP, "E303", "hs-timestamp",
	  "handshake timestamp too old or too far in the future"),
	R(REASON_HS_COOKIE, "E304", "hs-cookie",
	  "responder under load: cookie required before the handshake is answered"),
	R(REASON_HS_AUTH, "E305", "hs-auth",
	  "handshake message failed authentication (wrong key or PSK)"),
	R(REASON_HS_TIMEOUT, "E306", "hs-timeout",
	  "no handshake response from the peer"),
	R(REASON_HS_MALFORMED, "E307", "hs-malformed",
	  "handshake message of wrong size or type"),

	R(REASON_REKEY_FAIL, "E401", "rekey-fail",
	  "rekey failed after 4 retries; the session is recovered with a new handshake"),
	R(REASON_REKEY_TIMEOUT, "E402", "rekey-timeout",
	  "no answer to a rekey message (one retry)"),
	R(REASON_PEER_DEAD, "E403", "peer-dead",
	  "nothing heard from the peer for dead-time; link down"),
	R(REASON_CTRL_AUTH, "E404", "ctrl-auth",
	  "control message failed authentication"),
	R(REASON_UNREACHABLE, "E405", "unreachable",
	  "no primary answered; retrying on the backoff schedule"),
	R(REASON_MAXFAIL, "E406", "maxfail",
	  "maxfail consecutive connection attempts failed; exiting"),

	R(REASON_NL_FAMILY, "E501", "nl-family",
	  "generic netlink family sloop not found (module not loaded?)"),
	R(REASON_NL_DEVICE, "E502", "nl-device",
	  "no such device or not a sloop device"),
	R(REASON_NL_BUSY, "E503", "nl-busy",
	  "the device already has an owning daemon"),
	R(REASON_NL_ERROR, "E504", "nl-error",
	  "a netlink command to the kernel failed"),
	R(REASON_SOCKET, "E505", "socket",
	  "UDP socket cannot be created or bound"),

	R(REASON_SCRIPT_EXEC, "E601", "script-exec",
	  "a script (ip-pre-up, ip-up, ip-down) cannot be executed"),
	R(REASON_SCRIPT_EXIT, "E602", "script-exit",
	  "a script exited with a non-zero status"),
	R(REASON_SCRIPT_SIGNAL, "E603", "script-signal",
	  "a script was killed by a signal"),
	R(REASON_SCRIPT_TIMEOUT, "E604", "script-timeout",
	  "a script did not finish in time and was killed"),

	R(REASON_PIDFILE, "E701", "pidfile",
	  "pid file cannot be written or another daemon holds it"),
	R(REASON_LOGFILE, "E702", "logfile",
	  "log file cannot be opened"),
	R(REASON_NOMEM, "E703", "nomem",
	  "out of memory"),
	R(REASON_DETACH, "E704", "detach",
	  "cannot detach from the terminal"),
	R(REASON_CTL_SOCKET, "E705", "ctl-socket",
	  "the control socket or its directory cannot be created"),
	R(REASON_CTL_DENIED, "E706", "ctl-denied",
	  "a control socket client is not root (SO_PEERCRED)"),
	R(REASON_CTL_REQUEST, "E707", "ctl-request",
	  "malformed or unknown control socket request"),
	R(REASON_KEYS_FLUSHED, "E708", "keys-flushed",
	  "the peer flushed the session keys (sloopctl flush-keys); a new handshake follows at once"),

	R(REASON_BRK_CONNECT, "E801", "broker-connect",
	  "the broker cannot be reached or the connection was lost; retrying with backoff"),
	R(REASON_BRK_REFUSED, "E802", "broker-refused",
	  "the broker answered a request with an error (its B code follows)"),
	R(REASON_BRK_PROTO, "E803", "broker-protocol",
	  "a malformed or unexpected frame from the broker, or a failed broker handshake (wrong broker-key?)"),
	R(REASON_LOOP_NOT_MEMBER, "E804", "loop-not-member",
	  "a device the broker reported has no verifiable membership signature chain; not installed"),
	R(REASON_LOOP_IDENTITY, "E805", "loop-identity",
	  "the loop id the broker sent does not derive from its founder and name; ignored"),
	R(REASON_LOOP_REVOKED, "E806", "loop-revoked",
	  "a member was revoked; its session is dropped at once"),
	R(REASON_LOOP_WIPED, "E807", "loop-wiped",
	  "the broker marked this device stolen: loop cache and password file deleted, exit 8"),
	R(REASON_LOOP_CACHE, "E808", "loop-cache",
	  "the loop cache cannot be read or written"),
	R(REASON_LOOP_WAITING, "E809", "loop-waiting",
	  "this device is not (yet) a member of the loop: waiting room"),
	R(REASON_LOOP_EXPIRED, "E810", "loop-expired",
	  "a member's credentials expired without renewal; its session is dropped"),
};

const struct reason_info *reason_info(enum reason r)
{
	if ((unsigned int)r >= REASON_COUNT)
		return NULL;
	return &reasons[r];
}

const char *reason_code(enum reason r)
{
	const struct reason_info *ri = reason_info(r);

	return ri ? ri->code : "E999";
}

const char *reason_name(enum reason r)
{
	const struct reason_info *ri = reason_info(r);

	return ri ? ri->name : "unknown";
}

enum reason reason_lookup(const char *s)
{
	for (int i = 0; i < REASON_COUNT; i++)
		if (!strcmp(s, reasons[i].code) || !strcmp(s, reasons[i].name))
			return (enum reason)i;
	return REASON_COUNT;
}

int reason_format(char *buf, size_t len, enum reason r, const char *fmt, ...)
{
	va_list ap;
	int n, m;

	n = snprintf(buf, len, "%s %s: ", reason_code(r), reason_name(r));
	if (n < 0)
		return n;
	va_start(ap, fmt);
	m = vsnprintf((size_t)n < len ? buf + n : NULL,
		      (size_t)n < len ? len - n : 0, fmt, ap);
	va_end(ap);
	return m < 0 ? m : n + m;
}

/* roff needs a leading dot or quote escaped, and backslashes doubled. */
static void man_escape(FILE *out, const char *s)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", out);
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\e", out);
		else if (*s == '-')
			fputs("\\-", out);
		else
			fputc(*s, out);
	}
}

void reason_man_table(FILE *out)
{
	for (int i = 1; i < REASON_COUNT; i++) {
		fprintf(out, ".TP\n.B %s ", reasons[i].code);
		man_escape(out, reasons[i].name);
		fputc('\n', out);
		man_escape(out, reasons[i].desc);
		fputc('\n', out);
	}
}
