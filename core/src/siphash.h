/*
 * SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF",
 * 2012), the keyed function F of the RFC 6528 ISN generator (isn.c).
 * Internal to core/: tests include it by path to check the reference vectors.
 */
#ifndef SYNFIN_SIPHASH_H
#define SYNFIN_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

/*
 * The 64-bit SipHash-2-4 tag of msg[0..len) under the 16-octet key. The
 * paper prints tags as the octets of this value least significant first.
 */
uint64_t sf_siphash24(const uint8_t key[16], const void *msg, size_t len);

#endif /* SYNFIN_SIPHASH_H */
