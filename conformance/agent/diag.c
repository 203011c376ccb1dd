/*
 * STATES through NETLINK_SOCK_DIAG (inet_diag). TCP_INFO only works on a
 * socket the agent holds, but SYN-RECV requests and TIME-WAIT entries have no
 * descriptor; sock_diag lists every TCP socket of the namespace, the way
 * ss(8) does, so the suite sees those too (seed items 1, 9, 11, 15).
 */
#define _GNU_SOURCE
#include "agent.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* At most this many entries are reported; more would not fit a test. */
#define SFC_MAX_ENTRIES 4096

/* One line of the STATES reply. */
struct sfc_entry {
	int state;
	char lip[INET6_ADDRSTRLEN];
	char rip[INET6_ADDRSTRLEN];
	unsigned lport, rport;
	unsigned long inode;
	unsigned expires_ms;
	int has_timer;
};

/* Send the dump request for every TCP/IPv4 socket in every state. */
static int sfc_diag_request(int nl)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	} msg;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };

	memset(&msg, 0, sizeof(msg));
	msg.nlh.nlmsg_len = sizeof(msg);
	msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	msg.req.sdiag_family = AF_INET;
	msg.req.sdiag_protocol = IPPROTO_TCP;
	msg.req.idiag_states = ~0U;
	if (sendto(nl, &msg, sizeof(msg), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	return 0;
}

/* Turn one inet_diag_msg into an entry. */
static void sfc_diag_entry(const struct inet_diag_msg *m, struct sfc_entry *e)
{
	e->state = m->idiag_state;
	inet_ntop(AF_INET, m->id.idiag_src, e->lip, sizeof(e->lip));
	inet_ntop(AF_INET, m->id.idiag_dst, e->rip, sizeof(e->rip));
	e->lport = ntohs(m->id.idiag_sport);
	e->rport = ntohs(m->id.idiag_dport);
	e->inode = m->idiag_inode;
	/* idiag_timer is 0 when no timer is pending; expires is in ms. */
	e->has_timer = m->idiag_timer != 0;
	e->expires_ms = m->idiag_expires;
}

/*
 * Read the dump replies into ents[]. Returns the number of entries or
 * -errno.
 */
static int sfc_diag_read(int nl, struct sfc_entry *ents, int max)
{
	static char buf[32768];
	int n = 0;

	for (;;) {
		ssize_t len = recv(nl, buf, sizeof(buf), 0);
		struct nlmsghdr *h;

		if (len < 0)
			return -errno;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len); h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_type == NLMSG_DONE)
				return n;
			if (h->nlmsg_type == NLMSG_ERROR)
				return -EIO;
			if (n < max)
				sfc_diag_entry(NLMSG_DATA(h), &ents[n++]);
		}
	}
}

/* The agent's socket id holding this inode, or -1. */
static int sfc_fd_of_inode(unsigned long inode)
{
	struct stat st;
	int fd;

	if (!inode)
		return -1;
	for (fd = 0; fd < SFC_MAX_SOCKS; fd++) {
		if (!sfc_sock_known(fd) || fstat(fd, &st) < 0)
			continue;
		if ((unsigned long)st.st_ino == inode)
			return fd;
	}
	return -1;
}

/* Print one entry line of the STATES reply. */
static void sfc_print_entry(const struct sfc_entry *e)
{
	int fd = sfc_fd_of_inode(e->inode);

	printf("%s %s %u %s %u ", sfc_state_name(e->state), e->lip, e->lport, e->rip, e->rport);
	if (fd >= 0)
		printf("%d ", fd);
	else
		fputs("- ", stdout);
	if (e->has_timer)
		printf("%u\n", e->expires_ms);
	else
		fputs("-\n", stdout);
}

int sfc_op_states(const struct sfc_req *r)
{
	struct sfc_entry *ents = NULL;
	int nl, n, i;

	if (r->argc != 1)
		return -EINVAL;
	nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (nl < 0) {
		sfc_err(errno, "sock_diag");
		return 0;
	}
	ents = calloc(SFC_MAX_ENTRIES, sizeof(*ents));
	n = ents ? sfc_diag_request(nl) : -ENOMEM;
	if (n == 0)
		n = sfc_diag_read(nl, ents, SFC_MAX_ENTRIES);
	if (n < 0) {
		sfc_err(-n, "sock_diag");
		goto out;
	}
	printf("OK %d\n", n);
	for (i = 0; i < n; i++)
		sfc_print_entry(&ents[i]);
	fflush(stdout);
out:
	free(ents);
	close(nl);
	return 0;
}
