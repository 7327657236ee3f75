// SPDX-License-Identifier: MIT
/*
 * sloopctl genkey / pubkey: Ed25519 device keys.  The secret key is the
 * 32-byte Ed25519 seed in standard base64 (44 characters), the public
 * key the 32-byte Ed25519 public key in the same encoding: the same
 * shape as wg's keys, so the same habits (umask 077, pipes) apply.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "cmds.h"

#define B64_LEN sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)

/* Like wg: a secret key written into a file others can read deserves a
 * warning, though creating the file safely stays the shell's job.
 */
static void warn_loose_stdout(void)
{
	struct stat st;

	if (fstat(STDOUT_FILENO, &st) || !S_ISREG(st.st_mode))
		return;
	if (st.st_mode & (S_IRWXG | S_IRWXO))
		fprintf(stderr,
			"Warning: writing a secret key to a file that is accessible to group or others (mode %03o); use umask 077\n",
			st.st_mode & 0777);
}

int sctl_cmd_genkey(int argc, char **argv)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char sk[crypto_sign_SECRETKEYBYTES];
	unsigned char seed[crypto_sign_SEEDBYTES];
	char b64[B64_LEN];
	int ret = 0;

	if (argc > 0) {
		fprintf(stderr, "Usage: sloopctl genkey\n");
		return 1;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "sloopctl: libsodium failed to initialise\n");
		return 1;
	}
	warn_loose_stdout();
	crypto_sign_keypair(pk, sk);
	crypto_sign_ed25519_sk_to_seed(seed, sk);
	sodium_bin2base64(b64, sizeof(b64), seed, sizeof(seed),
			  sodium_base64_VARIANT_ORIGINAL);
	if (printf("%s\n", b64) < 0 || fflush(stdout)) {
		fprintf(stderr, "sloopctl: writing the key: %s\n",
			strerror(errno));
		ret = 1;
	}
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(b64, sizeof(b64));
	return ret;
}

static int read_secret(unsigned char seed[crypto_sign_SEEDBYTES])
{
	char line[128];
	size_t n, len = 0;
	int ret = -1;

	if (!fgets(line, sizeof(line), stdin)) {
		fprintf(stderr, "sloopctl: no key on standard input\n");
		return -1;
	}
	n = strcspn(line, "\r\n");
	line[n] = '\0';
	if (sodium_base642bin(seed, crypto_sign_SEEDBYTES, line, n, NULL, &len,
			      NULL, sodium_base64_VARIANT_ORIGINAL) ||
	    len != crypto_sign_SEEDBYTES)
		fprintf(stderr,
			"sloopctl: the input is not a secret key (32 bytes in base64)\n");
	else
		ret = 0;
	sodium_memzero(line, sizeof(line));
	return ret;
}

int sctl_cmd_pubkey(int argc, char **argv)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char sk[crypto_sign_SECRETKEYBYTES];
	unsigned char seed[crypto_sign_SEEDBYTES];
	char b64[B64_LEN];
	int ret = 1;

	if (argc > 0) {
		fprintf(stderr, "Usage: sloopctl pubkey < secret-key\n");
		return 1;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "sloopctl: libsodium failed to initialise\n");
		return 1;
	}
	if (read_secret(seed) == 0) {
		crypto_sign_seed_keypair(pk, sk, seed);
		sodium_bin2base64(b64, sizeof(b64), pk, sizeof(pk),
				  sodium_base64_VARIANT_ORIGINAL);
		ret = printf("%s\n", b64) < 0 || fflush(stdout) ? 1 : 0;
	}
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(seed, sizeof(seed));
	return ret;
}
