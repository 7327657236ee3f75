/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * sloop wire format constants, shared by the kernel and user space.
 * docs/protocol.md is the normative description; this header only
 * gives the numbers names.
 *
 * Transport packet (all multi-byte fields big endian):
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |0 1|R R R R R|P|          receiver index (32) ...             |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |    ...      |            packet counter (64) ...             |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                         ...                                  |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |    ...      |   AEAD ciphertext of the padded payload, tag   |
 *
 * The low 6 bits of byte 0 (R: reserved, zero; P: key phase) and the
 * counter are masked by header protection (docs/protocol.md).
 */
#ifndef _UAPI_SLOOP_WIRE_H
#define _UAPI_SLOOP_WIRE_H

#include <linux/types.h>

#define SLOOP_DEFAULT_PORT	5653

/* First byte of every sloop UDP payload. */
#define SLOOP_MSG_HS_INIT	0x01	/* handshake initiation */
#define SLOOP_MSG_HS_RESP	0x02	/* handshake response */
#define SLOOP_MSG_HS_COOKIE	0x03	/* cookie reply under load */
#define SLOOP_MSG_SCB_PROBE	0x04	/* broker endpoint probe (scb.h) */
#define SLOOP_MSG_SCB_ANSWER	0x05	/* its answer */
#define SLOOP_MSG_PUNCH		0x06	/* opens a NAT at a rendezvous */
#define SLOOP_PUNCH_LEN		4	/* 06 'p' 'n' 'h' */
#define SLOOP_MSG_TRANSPORT	0x40	/* top two bits 01 */
#define SLOOP_MSG_TRANSPORT_MASK 0xc0
#define SLOOP_HDR_PROTECTED	0x3f	/* bits covered by the mask */
#define SLOOP_HDR_PHASE		0x01

#define SLOOP_HDR_LEN		13	/* type, index, counter */
#define SLOOP_TAG_LEN		16
#define SLOOP_SALT_LEN		4
#define SLOOP_HP_SAMPLE_LEN	16
#define SLOOP_HP_MASK_LEN	9	/* 1 for byte 0, 8 for the counter */
#define SLOOP_OVERHEAD		(SLOOP_HDR_LEN + SLOOP_TAG_LEN)
/*
 * Whole cost of a full-size packet on the underlay: outer IPv4 (20) or
 * IPv6 (40), UDP (8) and ours. Padding adds nothing to it: it never
 * makes a plaintext longer than the device MTU.
 */
#define SLOOP_OVERHEAD_IPV4	(20 + 8 + SLOOP_OVERHEAD)	/* 57 */
#define SLOOP_OVERHEAD_IPV6	(40 + 8 + SLOOP_OVERHEAD)	/* 77 */

/* Inner payload: first nibble 4 or 6 is an IP packet, 0xc a control msg. */
#define SLOOP_INNER_CTRL	0xc0
#define SLOOP_CTRL_HDR_LEN	4	/* 0xc0, 0, be16 length */

#endif /* _UAPI_SLOOP_WIRE_H */
