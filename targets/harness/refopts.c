/*
 * A second, independent reading of a TCP option area, written from the
 * rules in core/include/synfin/wire.h (sf_tcp_options) and RFC 9293 §3.1,
 * so that the engine's decoder is checked against something other than
 * itself: a parser bug that reads the wrong octets stays consistent through
 * emit and parse, but not through two parsers.
 *
 * Rules: EOL ends the list and whatever follows must be zero
 * (RFC9293:MUST-69); NOP is one octet; every other kind has a length octet
 * (RFC9293:MUST-68); a length below 2 or past the end stops decoding and
 * marks the area malformed (RFC9293:MUST-7), keeping what came before;
 * a known kind with the wrong length for its kind, or an unknown kind, is
 * skipped and counted (RFC9293:MUST-6); a later option of a kind replaces an
 * earlier one.
 */
#include <string.h>

#include "harness_internal.h"

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* One option of kind k with n octets of value v; false if its length does
 * not fit its kind. */
static bool take(sf_tcp_options *o, uint8_t k, const uint8_t *v, size_t n)
{
	if (k == SF_OPT_MSS && n == 2) {
		o->has_mss = true;
		o->mss = be16(v);
	} else if (k == SF_OPT_WSCALE && n == 1) {
		o->has_wscale = true;
		o->wscale = v[0];
	} else if (k == SF_OPT_SACK_PERM && n == 0) {
		o->sack_permitted = true;
	} else if (k == SF_OPT_TS && n == 8) {
		o->has_ts = true;
		o->ts_val = be32(v);
		o->ts_ecr = be32(v + 4);
	} else if (k == SF_OPT_SACK && n >= 8 && n % 8 == 0 && n / 8 <= SF_MAX_SACK_BLOCKS) {
		o->sack_count = (uint8_t)(n / 8);
		for (size_t b = 0; b < n / 8; b++) {
			o->sack[b].left = be32(v + 8 * b);
			o->sack[b].right = be32(v + 8 * b + 4);
		}
	} else {
		return false;
	}
	return true;
}

void fz_ref_opts_decode(const uint8_t *raw, size_t len, sf_tcp_options *o)
{
	memset(o, 0, sizeof *o);
	size_t i = 0;
	while (i < len) {
		if (raw[i] == SF_OPT_EOL) {
			for (size_t j = i + 1; j < len; j++)
				if (raw[j])
					o->nonzero_padding = true;
			return;
		}
		if (raw[i] == SF_OPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= len || raw[i + 1] < 2 || i + raw[i + 1] > len) {
			o->malformed = true;
			return;
		}
		size_t olen = raw[i + 1];
		if (!take(o, raw[i], raw + i + 2, olen - 2) && o->unknown_count < UINT8_MAX)
			o->unknown_count++;
		i += olen;
	}
}

void fz_check_opts_decode(fz_harness *h, const uint8_t *raw, size_t len, const sf_tcp_options *got)
{
	sf_tcp_options want;
	fz_ref_opts_decode(raw, len, &want);
	if (!fz_opts_same(&want, got) || want.malformed != got->malformed ||
	    want.nonzero_padding != got->nonzero_padding || want.unknown_count != got->unknown_count)
		fz_fail(h, "codec",
			"the option decoder disagrees with the reference reading of %zu option octets: "
			"mss %d/%d wscale %d/%d sackOK %d/%d sack %u/%u ts %d/%d malformed %d/%d "
			"padding %d/%d unknown %u/%u (engine/reference)",
			len, got->has_mss ? got->mss : -1, want.has_mss ? want.mss : -1,
			got->has_wscale ? got->wscale : -1, want.has_wscale ? want.wscale : -1,
			got->sack_permitted, want.sack_permitted, got->sack_count, want.sack_count,
			got->has_ts, want.has_ts, got->malformed, want.malformed,
			got->nonzero_padding, want.nonzero_padding, got->unknown_count,
			want.unknown_count);
}
