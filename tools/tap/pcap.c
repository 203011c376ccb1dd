/*
 * A minimal pcap writer (the classic format of libpcap's savefile.c:
 * magic 0xa1b2c3d4, version 2.4, microsecond timestamps, LINKTYPE_ETHERNET).
 * Hand-written so the runner needs nothing beyond libc.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "tap.h"

#define PCAP_MAGIC 0xa1b2c3d4u
#define PCAP_LINKTYPE_ETHERNET 1u

struct pcap_file_header_v24 {
	uint32_t magic;
	uint16_t version_major, version_minor;
	int32_t thiszone;
	uint32_t sigfigs, snaplen, linktype;
};

struct pcap_record_header {
	uint32_t ts_sec, ts_usec, caplen, len;
};

int tap_pcap_open(tap_pcap *p, const char *path)
{
	struct pcap_file_header_v24 h = {
		.magic = PCAP_MAGIC, .version_major = 2, .version_minor = 4,
		.snaplen = TAP_MAX_FRAME, .linktype = PCAP_LINKTYPE_ETHERNET,
	};

	p->f = fopen(path, "wb");
	if (!p->f)
		return -errno;
	if (fwrite(&h, sizeof(h), 1, p->f) != 1 || fflush(p->f) != 0) {
		int err = errno ? -errno : -EIO;

		fclose(p->f);
		p->f = NULL;
		return err;
	}
	return 0;
}

void tap_pcap_write(tap_pcap *p, const uint8_t *frame, size_t len)
{
	struct pcap_record_header r;
	struct timespec ts;

	if (!p->f)
		return;
	/* Wall-clock stamps, so the capture lines up with the tester's pcap. */
	clock_gettime(CLOCK_REALTIME, &ts);
	r.ts_sec = (uint32_t)ts.tv_sec;
	r.ts_usec = (uint32_t)(ts.tv_nsec / 1000);
	r.caplen = r.len = (uint32_t)len;
	if (fwrite(&r, sizeof(r), 1, p->f) != 1 || fwrite(frame, 1, len, p->f) != len)
		return;
	fflush(p->f);
}

void tap_pcap_close(tap_pcap *p)
{
	if (p->f)
		fclose(p->f);
	p->f = NULL;
}
