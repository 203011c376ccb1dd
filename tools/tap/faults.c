/*
 * Fault injection on the runner's link, in the manner of smoltcp's
 * FaultInjector: each frame is independently dropped, duplicated, held back
 * (so later frames overtake it) or corrupted, each with its own probability.
 *
 * Every decision comes from one xorshift64* generator seeded with --seed,
 * and every frame draws the same number of values, so a run with the same
 * seed and the same frame sequence makes the same decisions.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

static uint64_t rng_next(tap_faults *f)
{
	uint64_t x = f->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	f->rng = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* A uniform double in [0, 1). */
static double rng_unit(tap_faults *f)
{
	return (double)(rng_next(f) >> 11) / (double)(1ull << 53);
}

void tap_faults_init(tap_faults *f, const tap_fault_cfg *cfg)
{
	memset(f, 0, sizeof(*f));
	f->cfg = *cfg;
	/* Mix the seed (splitmix64) so that seeds 0, 1, 2 give unrelated streams;
	 * xorshift must never start from 0. */
	uint64_t z = cfg->seed + 0x9e3779b97f4a7c15ull;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	f->rng = z ? z : 0x9e3779b97f4a7c15ull;
}

bool tap_faults_active(const tap_faults *f, int dir)
{
	const tap_fault_cfg *c = &f->cfg;

	return (c->dirs & dir) && (c->drop > 0 || c->dup > 0 || c->reorder > 0 || c->corrupt > 0);
}

void tap_faults_decide(tap_faults *f, int dir, size_t len, tap_fault_verdict *v)
{
	double d = rng_unit(f), u = rng_unit(f), r = rng_unit(f), c = rng_unit(f);
	uint64_t where = rng_next(f);
	bool on = (f->cfg.dirs & dir) != 0;

	memset(v, 0, sizeof(*v));
	v->copies = 1;
	if (!on)
		return;
	if (d < f->cfg.drop) {
		v->drop = true;
		f->dropped++;
		return;
	}
	if (u < f->cfg.dup) {
		v->copies = 2;
		f->duplicated++;
	}
	if (r < f->cfg.reorder) {
		v->hold = true;
		f->reordered++;
	}
	/* Corrupt past the Ethernet header: a frame with a broken header would
	 * just be ignored, which is a drop, not a corruption. */
	if (c < f->cfg.corrupt && len > TAP_ETH_HLEN) {
		v->corrupt = true;
		v->corrupt_bit = TAP_ETH_HLEN * 8 + (size_t)(where % ((len - TAP_ETH_HLEN) * 8));
		f->corrupted++;
	}
}

void tap_faults_corrupt(uint8_t *frame, size_t len, size_t bit)
{
	if (bit / 8 < len)
		frame[bit / 8] ^= (uint8_t)(1u << (bit % 8));
}

int tap_faults_hold(tap_faults *f, int dir, const uint8_t *frame, size_t len, uint64_t now_us)
{
	tap_held *h;

	if (f->nheld == TAP_MAX_HELD)
		return -ENOSPC;
	h = &f->held[f->nheld];
	h->frame = malloc(len);
	if (!h->frame)
		return -ENOMEM;
	memcpy(h->frame, frame, len);
	h->len = len;
	h->due_us = now_us + f->cfg.reorder_us;
	h->dir = dir;
	f->nheld++;
	return 0;
}

uint64_t tap_faults_next_due(const tap_faults *f)
{
	uint64_t t = UINT64_MAX;

	for (int i = 0; i < f->nheld; i++)
		if (f->held[i].due_us < t)
			t = f->held[i].due_us;
	return t;
}

void tap_faults_free(tap_faults *f)
{
	for (int i = 0; i < f->nheld; i++)
		free(f->held[i].frame);
	f->nheld = 0;
}
