/*
 * Randomized stress: a fixed-seed stream of segments (with sequence and
 * acknowledgement numbers near what each connection expects), socket calls
 * and clock steps, with sf_check_invariants() after every event and the
 * leak check of h_free() at the end. A cheap, deterministic version of what
 * the fuzz targets do, so that an invariant break shows up in ctest.
 */
#include <string.h>

#include "harness.h"

typedef struct rng {
	uint64_t s;
} rng;

static uint32_t next(rng *r)
{
	r->s ^= r->s << 13;
	r->s ^= r->s >> 7;
	r->s ^= r->s << 17;
	return (uint32_t)(r->s >> 16);
}

static uint32_t below(rng *r, uint32_t n)
{
	return n ? next(r) % n : 0;
}

typedef struct pick {
	sf_tcp_info infos[64];
	size_t n;
} pick;

static void collect(void *ctx, const sf_tcp_info *info)
{
	pick *p = ctx;

	if (p->n < 64 && info->state != SF_CLOSED && info->state != SF_LISTEN)
		p->infos[p->n++] = *info;
}

static const uint8_t flag_choices[] = {
	SF_ACK, SF_ACK, SF_ACK | SF_PSH, SF_SYN, SF_SYN | SF_ACK, SF_RST, SF_RST | SF_ACK,
	SF_FIN | SF_ACK, SF_FIN, 0, SF_SYN | SF_FIN, SF_ACK | SF_URG,
};

static void random_segment(harness *h, rng *r)
{
	static const char data[] = "0123456789abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
	pick p = { .n = 0 };
	tseg t;

	memset(&t, 0, sizeof(t));
	sf_foreach_conn(h->stack, collect, &p);
	t.flags = flag_choices[below(r, sizeof(flag_choices))];
	if (p.n && below(r, 4)) {
		const sf_tcp_info *i = &p.infos[below(r, (uint32_t)p.n)];

		h->peer_port = i->remote.port;
		h->stack_port = i->local.port;
		t.seq = i->rcv_nxt + below(r, 9) - 4 + (below(r, 8) == 0 ? below(r, 200000) : 0);
		t.ack = i->snd_nxt + below(r, 5) - 2;
		if (below(r, 6) == 0)
			t.ack = i->snd_una - below(r, 100000);
	} else {
		h->peer_port = (uint16_t)(40000 + below(r, 4));
		h->stack_port = below(r, 2) ? SERVER_PORT : (uint16_t)(32768 + below(r, 3));
		t.seq = next(r);
		t.ack = STACK_ISS + below(r, 3);
	}
	t.len = below(r, 3) ? 0 : below(r, sizeof(data) - 1) + 1;
	t.data = t.len ? data : NULL;
	t.win = below(r, 10) == 0 ? 0 : 1 + below(r, 65535);
	t.zero_win = t.win == 0;
	t.mss = (t.flags & SF_SYN) && below(r, 2) ? (uint16_t)(below(r, 2000)) : 0;
	h_send_(h, t, __FILE__, __LINE__);
}

static void random_call(harness *h, rng *r, int *sds, size_t nsds)
{
	int sd = sds[below(r, (uint32_t)nsds)];
	sf_endpoint local = { h->stack_addr, SERVER_PORT };
	sf_endpoint remote = { h->peer_addr, (uint16_t)(40000 + below(r, 4)) };
	char buf[300];

	switch (below(r, 12)) {
	case 0:
		sds[below(r, (uint32_t)nsds)] = sf_socket(h->stack, SF_AF_INET);
		break;
	case 1:
		(void)sf_bind(h->stack, sd, &local);
		(void)sf_listen(h->stack, sd, (int)below(r, 4));
		break;
	case 2:
		(void)sf_connect(h->stack, sd, &remote);
		break;
	case 3: {
		int a = sf_accept(h->stack, sd, NULL);

		if (a >= 0)
			sds[below(r, (uint32_t)nsds)] = a;
		break;
	}
	case 4:
		memset(buf, 'x', sizeof(buf));
		(void)sf_send(h->stack, sd, buf, below(r, sizeof(buf)));
		break;
	case 5:
		(void)sf_recv(h->stack, sd, buf, below(r, sizeof(buf)));
		break;
	case 6:
		(void)sf_shutdown(h->stack, sd, (int)below(r, 3));
		break;
	case 7:
		(void)sf_close(h->stack, sd);
		break;
	case 8:
		(void)sf_abort(h->stack, sd);
		break;
	case 9:
		(void)sf_setsockopt(h->stack, sd, (sf_sockopt)below(r, SF_TCP_MAXSEG + 1),
				    (int)below(r, 3000));
		break;
	default:
		(void)sf_poll(h->stack, sd);
		break;
	}
	h_check(h);
}

static void run_seed(uint64_t seed, int events)
{
	sf_config cfg;
	harness *h;
	rng r = { seed };
	int sds[6];

	sf_config_default(&cfg);
	cfg.oow_ack_interval = seed % 2 ? 0 : 500 * MS;
	cfg.rfc1337 = seed % 3 == 0;
	cfg.max_time_wait = (uint32_t)(seed % 4);
	h = h_new_cfg(&cfg);
	listening(h);
	for (size_t i = 0; i < 6; i++)
		sds[i] = h->listener;
	for (int e = 0; e < events; e++) {
		uint32_t what = below(&r, 10);

		if (what < 6)
			random_segment(h, &r);
		else if (what < 9)
			random_call(h, &r, sds, 6);
		else
			h_advance(h, below(&r, 8) == 0 ? 100 * SEC : below(&r, 3 * SEC));
		h_clear(h);
	}
	h_free(h);
}

static void test_stack_random_events(void)
{
	for (uint64_t seed = 1; seed <= 40; seed++)
		run_seed(seed * 0x9e3779b97f4a7c15ull, 3000);
}

int main(void)
{
	RUN_TEST(test_stack_random_events);
	return 0;
}
