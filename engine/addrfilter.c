/*
 * engine/addrfilter.c: the address filter of outbound calls (--http-allow).
 * Loopback, private, link-local, unspecified, multicast and reserved
 * addresses, and the IPv6 forms that embed them (IPv4-mapped and
 * -compatible, NAT64, 6to4), are refused unless an allowed CIDR holds them.
 * The http executor asks it before every connection it opens.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

static int	 addrfilter_prefix_parse(const char *, int);
static int	 addrfilter_host_bits(const struct cidr *);
static int	 addrfilter_addr_norm(const struct sockaddr *, int *,
		    uint8_t *);
static int	 addrfilter_prefix_match(const uint8_t *, const uint8_t *, int);
static const char *addrfilter_special_v4(const uint8_t *);
static const char *addrfilter_special_v6(const uint8_t *);

/* A prefix length: 1 to 3 decimal digits, at most MAX; -1 if not. */
static int
addrfilter_prefix_parse(const char *p, int max)
{
	int	n = 0;

	if (*p == '\0' || strlen(p) > 3)
		return (-1);
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return (-1);
		n = n * 10 + (*p - '0');
	}
	return (n <= max ? n : -1);
}

/* Are any bits of C's address set after its prefix? */
static int
addrfilter_host_bits(const struct cidr *c)
{
	int	i, bits;

	for (i = 0; i < 16; i++) {
		bits = c->prefix - i * 8;
		if (bits >= 8)
			continue;
		if ((c->addr[i] & (bits <= 0 ? 0xff : 0xff >> bits)) != 0)
			return (1);
	}
	return (0);
}

/*
 * Parse "ADDRESS/PREFIX" (or a bare address: one host) into C.  Host bits
 * must be zero; an IPv4-mapped IPv6 network (::ffff:a.b.c.d/96+n) becomes
 * the IPv4 network a.b.c.d/n.
 */
int
addrfilter_cidr_parse(const char *s, struct cidr *c, char **cause)
{
	char		 addr[INET6_ADDRSTRLEN + 1];
	const char	*slash;
	size_t		 len;
	int		 max;
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };

	memset(c, 0, sizeof *c);
	slash = strchr(s, '/');
	len = slash != NULL ? (size_t)(slash - s) : strlen(s);
	if (len == 0 || len >= sizeof addr)
		goto bad;
	memcpy(addr, s, len);
	addr[len] = '\0';
	if (inet_pton(AF_INET, addr, c->addr) == 1) {
		c->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, addr, c->addr) == 1) {
		c->family = AF_INET6;
		max = 128;
	} else
		goto bad;
	c->prefix = slash != NULL ? addrfilter_prefix_parse(slash + 1, max) :
	    max;
	if (c->prefix < 0)
		goto bad;
	if (addrfilter_host_bits(c)) {
		xasprintf(cause, "%s: host bits are set after the first %d",
		    s, c->prefix);
		return (-1);
	}
	if (c->family == AF_INET6 && c->prefix >= 96 &&
	    memcmp(c->addr, mapped, sizeof mapped) == 0) {
		c->family = AF_INET;
		memmove(c->addr, c->addr + 12, 4);
		memset(c->addr + 4, 0, 12);
		c->prefix -= 96;
	}
	return (0);
bad:
	xasprintf(cause, "%s: expected an address or ADDRESS/PREFIX such as "
	    "127.0.0.1/32 or fd00::/8", s);
	return (-1);
}

/*
 * The family and bytes of SA, with an IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d) read as the IPv4 address it is.  -1 if not IP.
 */
static int
addrfilter_addr_norm(const struct sockaddr *sa, int *family, uint8_t *a)
{
	struct sockaddr_in	sin;
	struct sockaddr_in6	sin6;
	static const uint8_t	mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };

	memset(a, 0, 16);
	if (sa->sa_family == AF_INET) {
		memcpy(&sin, sa, sizeof sin);
		memcpy(a, &sin.sin_addr, 4);
		*family = AF_INET;
		return (0);
	}
	if (sa->sa_family != AF_INET6)
		return (-1);
	memcpy(&sin6, sa, sizeof sin6);
	if (memcmp(&sin6.sin6_addr, mapped, sizeof mapped) == 0) {
		memcpy(a, (uint8_t *)&sin6.sin6_addr + 12, 4);
		*family = AF_INET;
		return (0);
	}
	memcpy(a, &sin6.sin6_addr, 16);
	*family = AF_INET6;
	return (0);
}

/* Do the first BITS bits of A and NET agree? */
static int
addrfilter_prefix_match(const uint8_t *a, const uint8_t *net, int bits)
{
	int	i;

	for (i = 0; bits >= 8; i++, bits -= 8) {
		if (a[i] != net[i])
			return (0);
	}
	if (bits > 0 && ((a[i] ^ net[i]) & (0xff << (8 - bits))) != 0)
		return (0);
	return (1);
}

/* Is SA inside C?  (IPv4-mapped addresses match IPv4 networks.) */
int
addrfilter_cidr_match(const struct cidr *c, const struct sockaddr *sa)
{
	uint8_t	a[16];
	int	family;

	if (addrfilter_addr_norm(sa, &family, a) != 0 || family != c->family)
		return (0);
	return (addrfilter_prefix_match(a, c->addr, c->prefix));
}

/* Why the IPv4 address A may not be called, or NULL if it may. */
static const char *
addrfilter_special_v4(const uint8_t *a)
{
	if (a[0] == 0)
		return ("unspecified");
	if (a[0] == 127)
		return ("loopback");
	if (a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) ||
	    (a[0] == 192 && a[1] == 168) || (a[0] == 100 &&
	    (a[1] & 0xc0) == 64))
		return ("private");
	if (a[0] == 169 && a[1] == 254)
		return ("link-local");
	if (a[0] >= 224 && a[0] < 240)
		return ("multicast");
	if (a[0] >= 240)
		return ("reserved");
	return (NULL);
}

/* Why the IPv6 address A may not be called, or NULL if it may. */
static const char *
addrfilter_special_v6(const uint8_t *a)
{
	static const uint8_t	zero[16];
	static const uint8_t	nat64[12] = { 0, 0x64, 0xff, 0x9b };
	static const uint8_t	nat64_local[6] = { 0, 0x64, 0xff, 0x9b, 0, 1 };
	const char		*why;

	if (memcmp(a, zero, 16) == 0)
		return ("unspecified");
	if (memcmp(a, zero, 15) == 0 && a[15] == 1)
		return ("loopback");
	/* IPv4-compatible (::a.b.c.d), NAT64 and 6to4 embed an IPv4. */
	if (memcmp(a, zero, 12) == 0)
		return ((why = addrfilter_special_v4(a + 12)) != NULL ? why :
		    "reserved");
	if (memcmp(a, nat64, 12) == 0)
		return (addrfilter_special_v4(a + 12));
	if (memcmp(a, nat64_local, 6) == 0)
		return ("private");
	if (a[0] == 0x20 && a[1] == 0x02)
		return (addrfilter_special_v4(a + 2));
	if ((a[0] & 0xfe) == 0xfc)
		return ("private");
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
		return ("link-local");
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0)
		return ("private");	/* site-local, deprecated */
	if (a[0] == 0xff)
		return ("multicast");
	return (NULL);
}

/*
 * The filter: NULL when SA may be connected to (a public address, or one
 * inside an allowed CIDR), else why not ("loopback", "private", ...).
 */
const char *
addrfilter_refused(const struct sockaddr *sa, const struct cidr *allow,
    size_t nallow)
{
	uint8_t	a[16];
	size_t	i;
	int	family;

	if (addrfilter_addr_norm(sa, &family, a) != 0)
		return ("not an IP address");
	for (i = 0; i < nallow; i++) {
		if (addrfilter_cidr_match(&allow[i], sa))
			return (NULL);
	}
	return (family == AF_INET ? addrfilter_special_v4(a) :
	    addrfilter_special_v6(a));
}
