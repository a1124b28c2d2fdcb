/*
 * -netdev user: user-mode networking on libslirp (DHCP, DNS, TFTP, NAT to the host's
 * sockets, hostfwd/guestfwd). Option meanings and messages follow QEMU 7.2's
 * net/slirp.c: net 10.0.2.0/24, host 10.0.2.2, DNS 10.0.2.3, DHCP from 10.0.2.15,
 * IPv6 fec0::/64 with host ::2 and DNS ::3.
 *
 * libslirp's sockets and timers run on the main loop: a GSource whose prepare step asks
 * slirp_pollfds_fill() for the descriptors (and the longest sleep), and whose dispatch
 * hands the results to slirp_pollfds_poll() after every poll; slirp's timers are
 * Vireo timers on the machine's clock. Frames for the guest go out with net_send()
 * (queued while the NIC has no buffers; slirp's TCP retransmits what a full queue drops).
 *
 * Migration: each -netdev user is a section ("slirp", named by the netdev id) carrying
 * libslirp's own state (slirp_state_save) with its version, in a VMS_BLOB. What that
 * state holds is libslirp's choice: the DHCP leases, the IP id counter and the guest's
 * TCP connections to guestfwd chardevs; not the NAT'd or hostfwd'd connections (their
 * host sockets stay with the source) nor the forwarding rules, which the destination
 * has from its own command line. libslirp's loader trusts its input, so the blob is
 * checked here first (slirp_blob_check) against the version-4 layout and this
 * netdev's rules, and loaded only when it is well formed.
 */
#include "net-int.h"
#include "vireo/chardev.h"
#include "vireo/mainloop.h"
#include <arpa/inet.h>
#include <slirp/libslirp.h>
#include <string.h>

typedef struct SlirpNet SlirpNet;

typedef struct SlirpFwd {             /* a guestfwd to a chardev */
    SlirpNet *s;
    Chardev *chr;
    bool owned;                       /* created from the rule (freed with us) */
    struct in_addr server;
    int port;
} SlirpFwd;

struct SlirpNet {
    NetClient *nc;
    Slirp *slirp;
    GSource *src;
    GArray *pfds;                     /* GPollFD added to src */
    Machine *m;
    GPtrArray *fwds;                  /* SlirpFwd * */
    char **dnssearch;
    uint8_t *frame;                   /* guest -> slirp copy of a scattered frame */
    LogBudget guest_log;
    struct in_addr vnet, vmask;       /* the IPv4 network (migration checks) */
};

typedef struct SlirpSource {
    GSource src;
    SlirpNet *s;
    gint64 deadline;     /* monotonic us when slirp's TCP timers are due; -1: none */
} SlirpSource;

/* ---- main-loop integration ---- */

static int add_poll(int fd, int events, void *opaque)
{
    SlirpNet *s = opaque;
    GPollFD p = { .fd = fd, .events = 0 };
    if (events & SLIRP_POLL_IN)
        p.events |= G_IO_IN;
    if (events & SLIRP_POLL_OUT)
        p.events |= G_IO_OUT;
    if (events & SLIRP_POLL_PRI)
        p.events |= G_IO_PRI;
    if (events & SLIRP_POLL_ERR)
        p.events |= G_IO_ERR;
    if (events & SLIRP_POLL_HUP)
        p.events |= G_IO_HUP;
    g_array_append_val(s->pfds, p);
    return s->pfds->len - 1;
}

static int get_revents(int idx, void *opaque)
{
    SlirpNet *s = opaque;
    if (idx < 0 || (guint)idx >= s->pfds->len)
        return 0;
    int ev = g_array_index(s->pfds, GPollFD, idx).revents, r = 0;
    if (ev & G_IO_IN)
        r |= SLIRP_POLL_IN;
    if (ev & G_IO_OUT)
        r |= SLIRP_POLL_OUT;
    if (ev & G_IO_PRI)
        r |= SLIRP_POLL_PRI;
    if (ev & G_IO_ERR)
        r |= SLIRP_POLL_ERR;
    if (ev & G_IO_HUP)
        r |= SLIRP_POLL_HUP;
    return r;
}

static void remove_polls(SlirpNet *s)
{
    for (guint i = 0; i < s->pfds->len; i++)
        g_source_remove_poll(s->src, &g_array_index(s->pfds, GPollFD, i));
    g_array_set_size(s->pfds, 0);
}

static gboolean src_prepare(GSource *src, gint *timeout)
{
    SlirpSource *ss = (SlirpSource *)src;
    SlirpNet *s = ss->s;
    uint32_t t = UINT32_MAX;
    remove_polls(s);
    slirp_pollfds_fill(s->slirp, &t, add_poll, s);
    for (guint i = 0; i < s->pfds->len; i++)   /* the array is stable from here on */
        g_source_add_poll(src, &g_array_index(s->pfds, GPollFD, i));
    *timeout = t == UINT32_MAX ? -1 : (gint)MIN(t, (uint32_t)G_MAXINT);
    ss->deadline = t == UINT32_MAX ? -1 : g_get_monotonic_time() + (gint64)t * 1000;
    return FALSE;
}

/* Slirp looks at its sockets and TCP timers after a poll, as in QEMU, but only when one
 * of its descriptors has an event or its timeout has passed. (A check that always said
 * "ready" dispatched this default-priority source after every poll: GLib then never ran
 * a lower-priority source, so a pending idle source was never dispatched and kept each
 * poll at timeout 0 -- the main loop spun at 100% CPU whenever a -netdev user existed.) */
static gboolean src_check(GSource *src)
{
    SlirpSource *ss = (SlirpSource *)src;
    SlirpNet *s = ss->s;
    for (guint i = 0; i < s->pfds->len; i++)
        if (g_array_index(s->pfds, GPollFD, i).revents)
            return TRUE;
    return ss->deadline >= 0 && g_get_monotonic_time() >= ss->deadline;
}

static gboolean src_dispatch(GSource *src, GSourceFunc cb, gpointer data)
{
    SlirpNet *s = ((SlirpSource *)src)->s;
    slirp_pollfds_poll(s->slirp, 0, get_revents, s);
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs slirp_source_funcs = {
    .prepare = src_prepare, .check = src_check, .dispatch = src_dispatch,
};

/* ---- slirp callbacks ---- */

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
    SlirpNet *s = opaque;
    net_send_buf(s->nc, buf, len, NULL);
    return len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
    SlirpNet *s = opaque;
    log_budget_warn(&s->guest_log, "netdev %s: guest error: %s", s->nc->name, msg);
}

static int64_t cb_clock_ns(void *opaque)
{
    return clock_ns(((SlirpNet *)opaque)->m->clock);
}

typedef struct SlirpTimer {
    SlirpNet *s;
    SlirpTimerId id;
    void *cb_opaque;
    Timer *t;
} SlirpTimer;

static void timer_fire(void *opaque)
{
    SlirpTimer *st = opaque;
    slirp_handle_timer(st->s->slirp, st->id, st->cb_opaque);
}

static void *cb_timer_new_opaque(SlirpTimerId id, void *cb_opaque, void *opaque)
{
    SlirpTimer *st = g_new0(SlirpTimer, 1);
    st->s = opaque;
    st->id = id;
    st->cb_opaque = cb_opaque;
    st->t = timer_new(st->s->m->clock, timer_fire, st);
    return st;
}

static void cb_timer_free(void *timer, void *opaque)
{
    SlirpTimer *st = timer;
    timer_free(st->t);
    g_free(st);
}

static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
    SlirpTimer *st = timer;
    timer_mod(st->t, expire_ms * 1000000);
}

static void cb_register_poll_fd(int fd, void *opaque) { }
static void cb_unregister_poll_fd(int fd, void *opaque) { }

static void cb_notify(void *opaque)
{
    SlirpNet *s = opaque;
    for (guint i = 0; i < s->fwds->len; i++)
        chr_accept_input(((SlirpFwd *)s->fwds->pdata[i])->chr);
    mainloop_wakeup();
}

static const SlirpCb slirp_cbs = {
    .send_packet = cb_send_packet,
    .guest_error = cb_guest_error,
    .clock_get_ns = cb_clock_ns,
    .timer_free = cb_timer_free,
    .timer_mod = cb_timer_mod,
    .register_poll_fd = cb_register_poll_fd,
    .unregister_poll_fd = cb_unregister_poll_fd,
    .notify = cb_notify,
    .timer_new_opaque = cb_timer_new_opaque,
};

/* ---- the client ---- */

static ssize_t user_receive(NetClient *nc, const struct iovec *iov, int iovcnt)
{
    SlirpNet *s = nc->opaque;
    size_t len = iov_size_n(iov, iovcnt);
    if (len > NET_MAX_FRAME)
        return len;
    if (iovcnt == 1) {
        slirp_input(s->slirp, iov[0].iov_base, len);
    } else {
        iov_to_buf_n(iov, iovcnt, 0, s->frame, len);
        slirp_input(s->slirp, s->frame, len);
    }
    return len;
}

static void user_cleanup(NetClient *nc)
{
    SlirpNet *s = nc->opaque;
    if (s->src) {
        remove_polls(s);
        g_source_destroy(s->src);
        g_source_unref(s->src);
    }
    for (guint i = 0; i < s->fwds->len; i++) {
        SlirpFwd *f = s->fwds->pdata[i];
        chr_set_frontend(f->chr, NULL);
        if (f->owned)
            chr_free(f->chr);
        g_free(f);
    }
    g_ptr_array_free(s->fwds, TRUE);
    if (s->slirp)
        slirp_cleanup(s->slirp);
    g_array_free(s->pfds, TRUE);
    g_strfreev(s->dnssearch);
    g_free(s->frame);
    g_free(s);
}

static const NetClientOps user_ops = {
    .kind = NET_KIND_USER,
    .type = "user",
    .receive = user_receive,
    .cleanup = user_cleanup,
};

/* ---- options ---- */

static bool fail(GError **errp, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static bool fail(GError **errp, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error_literal(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, msg);
    return false;
}

/* "addr[/bits|/mask]": QEMU's net= rules (a mask by address class when none given). */
static bool parse_net(const char *spec, struct in_addr *net, struct in_addr *mask,
                      GError **errp)
{
    g_auto(GStrv) p = g_strsplit(spec, "/", 2);
    if (!inet_aton(p[0], net))
        return fail(errp, "Failed to parse netmask");
    if (!p[1]) {
        uint32_t a = ntohl(net->s_addr), m;
        if (!(a & 0x80000000))
            m = 0xff000000;                     /* class A */
        else if ((a & 0xfff00000) == 0xac100000)
            m = 0xfff00000;                     /* 172.16.0.0/12 */
        else if ((a & 0xc0000000) == 0x80000000)
            m = 0xffff0000;                     /* class B */
        else if ((a & 0xffff0000) == 0xc0a80000)
            m = 0xffff0000;                     /* 192.168.0.0/16 */
        else if ((a & 0xffff0000) == 0xc6120000)
            m = 0xfffe0000;                     /* 198.18.0.0/15 */
        else if ((a & 0xe0000000) == 0xe0000000)
            m = 0xffffff00;                     /* class C */
        else
            m = 0xfffffff0;
        mask->s_addr = htonl(m);
    } else {
        char *end;
        long shift = strtol(p[1], &end, 10);
        if (*end) {
            if (!inet_aton(p[1], mask))
                return fail(errp, "Failed to parse netmask (trailing chars)");
        } else if (shift < 4 || shift > 32) {
            return fail(errp, "Invalid netmask provided (must be in range 4-32)");
        } else {
            mask->s_addr = htonl(0xffffffffu << (32 - shift));
        }
    }
    net->s_addr &= mask->s_addr;
    return true;
}

static bool in_net(struct in_addr a, struct in_addr net, struct in_addr mask)
{
    return (a.s_addr & mask.s_addr) == net.s_addr;
}

static bool config_v4(SlirpConfig *c, const NetdevUserOptions *o, GError **errp)
{
    struct in_addr net, mask, host, dhcp, dns;
    inet_aton("10.0.2.0", &net);
    inet_aton("255.255.255.0", &mask);
    inet_aton("10.0.2.2", &host);
    inet_aton("10.0.2.15", &dhcp);
    inet_aton("10.0.2.3", &dns);
    const char *vnet = o->net ? o->net : o->ip;
    if (vnet) {
        if (!parse_net(vnet, &net, &mask, errp))
            return false;
        host.s_addr = net.s_addr | (htonl(0x0202) & ~mask.s_addr);
        dhcp.s_addr = net.s_addr | (htonl(0x020f) & ~mask.s_addr);
        dns.s_addr = net.s_addr | (htonl(0x0203) & ~mask.s_addr);
    }
    if (o->host && !inet_aton(o->host, &host))
        return fail(errp, "Failed to parse host");
    if (!in_net(host, net, mask))
        return fail(errp, "Host doesn't belong to network");
    if (o->dns && !inet_aton(o->dns, &dns))
        return fail(errp, "Failed to parse DNS");
    if (o->has_q_restrict && o->q_restrict && !in_net(dns, net, mask))
        return fail(errp, "DNS doesn't belong to network");
    if (dns.s_addr == host.s_addr)
        return fail(errp, "DNS must be different from host");
    if (o->dhcpstart && !inet_aton(o->dhcpstart, &dhcp))
        return fail(errp, "Failed to parse DHCP start address");
    if (!in_net(dhcp, net, mask))
        return fail(errp, "DHCP doesn't belong to network");
    if (dhcp.s_addr == host.s_addr || dhcp.s_addr == dns.s_addr)
        return fail(errp, "DNS must be different from host and DNS");
    c->vnetwork = net, c->vnetmask = mask, c->vhost = host;
    c->vdhcp_start = dhcp, c->vnameserver = dns;
    return true;
}

static bool in6_net(const struct in6_addr *a, const struct in6_addr *net, unsigned len)
{
    for (unsigned i = 0; i < 16; i++) {
        unsigned bits = len > 8 * i ? MIN(8u, len - 8 * i) : 0;
        uint8_t m = bits ? (uint8_t)(0xff << (8 - bits)) : 0;
        if ((a->s6_addr[i] & m) != (net->s6_addr[i] & m))
            return false;
    }
    return true;
}

static bool config_v6(SlirpConfig *c, const NetdevUserOptions *o, GError **errp)
{
    struct in6_addr prefix, host, dns;
    inet_pton(AF_INET6, "fec0::", &prefix);
    int64_t len = o->has_ipv6_prefixlen ? o->ipv6_prefixlen : 64;
    if (o->ipv6_prefix && inet_pton(AF_INET6, o->ipv6_prefix, &prefix) != 1)
        return fail(errp, "Failed to parse IPv6 prefix");
    if (len < 0 || len > 126)
        return fail(errp, "Invalid IPv6 prefix provided (IPv6 prefix length must be "
                    "between 0 and 126)");
    host = prefix, host.s6_addr[15] |= 2;
    dns = prefix, dns.s6_addr[15] |= 3;
    if (o->ipv6_host) {
        if (inet_pton(AF_INET6, o->ipv6_host, &host) != 1)
            return fail(errp, "Failed to parse IPv6 host");
        if (!in6_net(&host, &prefix, len))
            return fail(errp, "IPv6 Host doesn't belong to network");
    }
    if (o->ipv6_dns) {
        if (inet_pton(AF_INET6, o->ipv6_dns, &dns) != 1)
            return fail(errp, "Failed to parse IPv6 DNS");
        if (!in6_net(&dns, &prefix, len))
            return fail(errp, "IPv6 DNS doesn't belong to network");
    }
    c->vprefix_addr6 = prefix, c->vprefix_len = len, c->vhost6 = host, c->vnameserver6 = dns;
    return true;
}

/* QEMU's rule: ipv6=on alone turns IPv4 off and ipv4=on alone IPv6; both off fails. */
static bool config_families(SlirpConfig *c, const NetdevUserOptions *o, GError **errp)
{
    bool v4 = !((o->has_ipv6 && o->ipv6 && !o->has_ipv4) || (o->has_ipv4 && !o->ipv4));
    bool v6 = !((o->has_ipv4 && o->ipv4 && !o->has_ipv6) || (o->has_ipv6 && !o->ipv6));
    if (!v4 && (o->net || o->ip || o->host || o->dns))
        return fail(errp, "IPv4 disabled but netmask/host/dns provided");
    if (!v6 && (o->ipv6_prefix || o->ipv6_host || o->ipv6_dns))
        return fail(errp, "IPv6 disabled but prefix/host6/dns6 provided");
    if (!v4 && !v6)
        return fail(errp, "IPv4 and IPv6 disabled");
    c->in_enabled = v4;
    c->in6_enabled = v6;
    return (!v4 || config_v4(c, o, errp)) && (!v6 || config_v6(c, o, errp));
}

static bool config_names(SlirpNet *s, SlirpConfig *c, const NetdevUserOptions *o,
                         GError **errp)
{
    if (o->smb || o->smbserver)
        return fail(errp, "smb=: Vireo has no SMB server support (use hostfwd or "
                    "guestfwd to reach a host share)");
    if (o->domainname && !*o->domainname)
        return fail(errp, "'domainname' parameter cannot be empty");
    if (o->hostname && strlen(o->hostname) > 255)
        return fail(errp, "'hostname' parameter cannot be longer than 255 characters");
    if (o->dnssearch) {
        s->dnssearch = g_new0(char *, o->dnssearch->len + 1);
        for (guint i = 0; i < o->dnssearch->len; i++) {
            const String *d = o->dnssearch->pdata[i];
            if (!*d->str || strlen(d->str) > 255)
                return fail(errp, "dnssearch: invalid domain name '%s'", d->str);
            s->dnssearch[i] = g_strdup(d->str);
        }
        c->vdnssearch = (const char **)s->dnssearch;
    }
    c->vhostname = o->hostname;
    c->vdomainname = o->domainname;
    c->tftp_path = o->tftp;
    c->bootfile = o->bootfile;
    c->tftp_server_name = o->tftp_server_name;
    c->restricted = o->has_q_restrict && o->q_restrict;
    return true;
}

/* Splits at @sep: the text before it (at most 127 chars) into @buf, *@p after it. */
static bool take_field(char *buf, const char **p, char sep)
{
    const char *e = strchr(*p, sep);
    if (!e || e - *p > 127)
        return false;
    memcpy(buf, *p, e - *p);
    buf[e - *p] = '\0';
    *p = e + 1;
    return true;
}

static bool parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    if (!*s)
        return false;
    long v = strtol(s, &end, 0);
    if (*end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* "[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport" (QEMU's slirp_hostfwd). */
static bool hostfwd_add(SlirpNet *s, const char *rule, GError **errp)
{
    char buf[128];
    const char *p = rule, *why = "Unknown reason";
    struct in_addr host = { .s_addr = INADDR_ANY }, guest = { .s_addr = 0 };
    int is_udp, hport, gport;
    if (!take_field(buf, &p, ':'))
        goto syntax;
    if (!strcmp(buf, "tcp") || !buf[0])
        is_udp = 0;
    else if (!strcmp(buf, "udp"))
        is_udp = 1;
    else
        goto syntax;
    if (!take_field(buf, &p, ':'))
        goto syntax;
    if (buf[0] && !inet_aton(buf, &host)) {
        why = "Bad host address";
        goto syntax;
    }
    if (!take_field(buf, &p, '-')) {
        why = "Bad host port separator";
        goto syntax;
    }
    if (!parse_int(buf, 0, 65535, &hport)) {
        why = "Bad host port";
        goto syntax;
    }
    if (!take_field(buf, &p, ':')) {
        why = "Missing guest address";
        goto syntax;
    }
    if (buf[0] && !inet_aton(buf, &guest)) {
        why = "Bad guest address";
        goto syntax;
    }
    if (!parse_int(p, 1, 65535, &gport)) {
        why = "Bad guest port";
        goto syntax;
    }
    if (slirp_add_hostfwd(s->slirp, is_udp, host, hport, guest, gport) < 0)
        return fail(errp, "Could not set up host forwarding rule '%s'", rule);
    return true;
syntax:
    return fail(errp, "Invalid host forwarding rule '%s' (%s)", rule, why);
}

/* ---- guestfwd ---- */

static int fwd_can_read(void *opaque)
{
    SlirpFwd *f = opaque;
    return slirp_socket_can_recv(f->s->slirp, f->server, f->port);
}

static void fwd_read(void *opaque, const uint8_t *buf, size_t len)
{
    SlirpFwd *f = opaque;
    slirp_socket_recv(f->s->slirp, f->server, f->port, buf, len);
}

static ssize_t fwd_write(const void *buf, size_t len, void *opaque)
{
    SlirpFwd *f = opaque;
    return chr_write(f->chr, buf, len);
}

/* "tcp:[server]:port-cmd:COMMAND" or "tcp:[server]:port-DEVICE" (a chardev shorthand
 * such as tcp:HOST:PORT or unix:PATH, or chardev:ID). */
static bool guestfwd_add(SlirpNet *s, const char *rule, GError **errp)
{
    char buf[128];
    const char *p = rule;
    struct in_addr server = { .s_addr = 0 };
    int port;
    if (!take_field(buf, &p, ':') || (strcmp(buf, "tcp") && buf[0]) ||
        !take_field(buf, &p, ':') || (buf[0] && !inet_aton(buf, &server)) ||
        !take_field(buf, &p, '-') || !parse_int(buf, 1, 65535, &port))
        return fail(errp, "Invalid guest forwarding rule '%s'", rule);
    if (g_str_has_prefix(p, "cmd:")) {
        if (slirp_add_exec(s->slirp, p + 4, &server, port) < 0)
            return fail(errp, "Conflicting/invalid host:port in guest forwarding rule '%s'",
                        rule);
        return true;
    }
    SlirpFwd *f = g_new0(SlirpFwd, 1);
    f->s = s;
    f->port = port;
    if (g_str_has_prefix(p, "chardev:")) {
        f->chr = chr_registry_find(s->m->chardevs, p + 8);
        if (!f->chr) {
            g_free(f);
            return fail(errp, "guestfwd: chardev '%s' not found", p + 8);
        }
    } else {
        g_autofree char *id = g_strdup_printf("guestfwd.tcp.%d", port);
        f->chr = chr_new_shorthand(p, id, NULL);
        f->owned = true;
        if (!f->chr) {
            g_free(f);
            return fail(errp, "Could not open guest forwarding device '%s'", id);
        }
    }
    if (slirp_add_guestfwd(s->slirp, fwd_write, f, &server, port) < 0) {
        if (f->owned)
            chr_free(f->chr);
        g_free(f);
        return fail(errp, "Conflicting/invalid host:port in guest forwarding rule '%s'", rule);
    }
    f->server = server;
    g_ptr_array_add(s->fwds, f);
    ChrFrontend fe = { .can_read = fwd_can_read, .read = fwd_read, .opaque = f };
    chr_set_frontend(f->chr, &fe);
    return true;
}

bool net_init_user(Machine *m, NetBackend *nd, const NetdevUserOptions *o, GError **errp)
{
    SlirpNet *s = g_new0(SlirpNet, 1);
    SlirpConfig cfg = { .version = 4 };
    s->m = m;
    s->fwds = g_ptr_array_new();
    s->pfds = g_array_new(FALSE, FALSE, sizeof(GPollFD));
    s->frame = g_malloc(NET_MAX_FRAME);
    s->guest_log = (LogBudget)LOG_BUDGET_DEFAULT;
    nd->nc[0] = s->nc = net_client_new(m, &user_ops, "user", nd->id, s);
    if (!config_families(&cfg, o, errp) || !config_names(s, &cfg, o, errp))
        return false;
    s->slirp = slirp_new(&cfg, &slirp_cbs, s);
    if (!s->slirp)
        return fail(errp, "user: libslirp could not start");
    for (guint i = 0; o->hostfwd && i < o->hostfwd->len; i++)
        if (!hostfwd_add(s, ((String *)o->hostfwd->pdata[i])->str, errp))
            return false;
    for (guint i = 0; o->guestfwd && i < o->guestfwd->len; i++)
        if (!guestfwd_add(s, ((String *)o->guestfwd->pdata[i])->str, errp))
            return false;
    s->vnet = cfg.vnetwork;
    s->vmask = cfg.vnetmask;
    s->src = g_source_new(&slirp_source_funcs, sizeof(SlirpSource));
    ((SlirpSource *)s->src)->s = s;
    g_source_attach(s->src, g_main_context_default());
    char net[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &cfg.vnetwork, net, sizeof(net));
    net_client_set_info(s->nc, "net=%s,restrict=%s", net, cfg.restricted ? "on" : "off");
    return true;
}

/* ---- migration ---- */

/* libslirp's stream (src/state.c, format version 4; integers big-endian): for each
 * guestfwd connection a non-zero byte and the socket (so_urgc u32; the foreign and the
 * local address, each u16 family 2 = IPv4 then u32 address and u16 port as stored in
 * network order, or family 10 with nothing after it; so_iptos, so_emu, so_type u8;
 * so_state i32; the receive then the send buffer, each sb_cc, sb_datalen, write and
 * read offset u32 then sb_datalen bytes; the TCP control block, below), a zero byte,
 * then ip_id u16 and the 16 DHCP leases (allocated u16, MAC 6 bytes). */
#define SLIRP_STATE_V4          4
#define SLIRP_TCP_NSTATES       11      /* CLOSED .. TIME_WAIT: tcpstates[] */
#define SLIRP_TCP_MAXRXTSHIFT   12      /* tcp_backoff[] has 13 entries */
#define SLIRP_TCP_MAX_WINSHIFT  14
#define SLIRP_BOOTP_CLIENTS     16

typedef struct Blob {
    const uint8_t *p, *end;
    bool bad;
} Blob;

static uint32_t blob_be(Blob *b, unsigned n)
{
    uint32_t v = 0;
    if (b->bad || (size_t)(b->end - b->p) < n) {
        b->bad = true;
        return 0;
    }
    for (unsigned i = 0; i < n; i++)
        v = v << 8 | b->p[i];
    b->p += n;
    return v;
}

static void blob_skip(Blob *b, size_t n)
{
    if (b->bad || (size_t)(b->end - b->p) < n)
        b->bad = true;
    else
        b->p += n;
}

static bool blob_bad(GError **errp, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static bool blob_bad(GError **errp, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "libslirp state: %s", msg);
    return false;
}

/* An address: IPv4 (its s_addr and sin_port as libslirp compares them) or IPv6. */
static bool blob_addr(Blob *b, const char *which, uint32_t *addr, uint16_t *port,
                      GError **errp)
{
    uint32_t family = blob_be(b, 2);
    if (family == 2) {
        *addr = blob_be(b, 4);
        *port = blob_be(b, 2);
        return true;
    }
    if (!b->bad)
        return blob_bad(errp, "%s address family %u (a guestfwd connection is IPv4)",
                        which, family);
    return true;
}

static bool blob_sbuf(Blob *b, const char *which, GError **errp)
{
    uint32_t cc = blob_be(b, 4), len = blob_be(b, 4), woff = blob_be(b, 4),
             roff = blob_be(b, 4);
    if (b->bad)
        return true;
    if (!len || len > (size_t)(b->end - b->p))
        return blob_bad(errp, "%s buffer of %u bytes (%zu left)", which, len,
                        (size_t)(b->end - b->p));
    if (cc > len || woff >= len || roff >= len)
        return blob_bad(errp, "%s buffer of %u bytes with %u bytes from offset %u to %u",
                        which, len, cc, roff, woff);
    blob_skip(b, len);
    return true;
}

/* libslirp's TCP control block: the fields it uses as an index, a divisor or a shift
 * count are checked; the sequence numbers and timers are TCP's business. */
static bool blob_tcpcb(Blob *b, GError **errp)
{
    int16_t state = blob_be(b, 2), timer[4], shift;
    for (int i = 0; i < 4; i++)
        timer[i] = blob_be(b, 2);
    shift = blob_be(b, 2);
    blob_skip(b, 2 + 2);                            /* t_rxtcur, t_dupacks */
    uint16_t maxseg = blob_be(b, 2);
    blob_skip(b, 1 + 2 + 15 * 4 + 2 + 2 + 4 + 2 + 2 + 2 + 4 + 1 + 1 + 2);
    uint8_t scale[4];
    for (int i = 0; i < 4; i++)
        scale[i] = blob_be(b, 1);
    blob_skip(b, 3 * 4);                            /* ts_recent .. last_ack_sent */
    if (b->bad)
        return true;
    if (state < 0 || state >= SLIRP_TCP_NSTATES)
        return blob_bad(errp, "TCP state %d", state);
    for (int i = 0; i < 4; i++)
        if (timer[i] < 0)
            return blob_bad(errp, "TCP timer %d at %d", i, timer[i]);
    if (shift < 0 || shift > SLIRP_TCP_MAXRXTSHIFT)
        return blob_bad(errp, "TCP retransmit shift %d", shift);
    if (!maxseg)
        return blob_bad(errp, "TCP maximum segment size 0");
    for (int i = 0; i < 4; i++)
        if (scale[i] > SLIRP_TCP_MAX_WINSHIFT)
            return blob_bad(errp, "TCP window scale %u", scale[i]);
    return true;
}

/* One guestfwd connection: it must be to one of this netdev's chardev guestfwd rules
 * (the only connections libslirp saves), each at most once. */
static bool blob_socket(SlirpNet *s, Blob *b, bool *used, GError **errp)
{
    uint32_t faddr = 0, laddr = 0;
    uint16_t fport = 0, lport = 0;
    uint32_t urgc = blob_be(b, 4);
    if (!blob_addr(b, "foreign", &faddr, &fport, errp) ||
        !blob_addr(b, "local", &laddr, &lport, errp))
        return false;
    blob_skip(b, 1);                                /* so_iptos */
    uint8_t emu = blob_be(b, 1);
    blob_skip(b, 1 + 4);                            /* so_type, so_state */
    if (!b->bad && urgc)
        return blob_bad(errp, "%u bytes of urgent data pending", urgc);
    if (!b->bad && emu)
        return blob_bad(errp, "protocol emulation %u (Vireo runs libslirp without it)",
                        emu);
    if (!blob_sbuf(b, "receive", errp) || !blob_sbuf(b, "send", errp) ||
        !blob_tcpcb(b, errp))
        return false;
    if (b->bad)
        return true;
    struct in_addr fa = { .s_addr = faddr };
    char addr[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &fa, addr, sizeof(addr));
    if ((faddr & s->vmask.s_addr) != s->vnet.s_addr)
        return blob_bad(errp, "a guestfwd connection to %s, outside the guest network",
                        addr);
    for (guint i = 0; i < s->fwds->len; i++) {
        SlirpFwd *f = s->fwds->pdata[i];
        if (f->server.s_addr != faddr || htons(f->port) != fport)
            continue;
        if (used[i])
            return blob_bad(errp, "two connections to guestfwd %s:%u", addr, ntohs(fport));
        used[i] = true;
        return true;
    }
    return blob_bad(errp, "a connection to guestfwd %s:%u, which this netdev does not "
                    "forward to a chardev", addr, ntohs(fport));
}

/* Whether @len bytes are a well-formed version-4 state for @s. */
static bool slirp_blob_check(SlirpNet *s, const uint8_t *data, size_t len, GError **errp)
{
    Blob b = { data, data + len, false };
    g_autofree bool *used = g_new0(bool, s->fwds->len + 1);
    while (blob_be(&b, 1) && !b.bad)
        if (!blob_socket(s, &b, used, errp))
            return false;
    blob_skip(&b, 2 + SLIRP_BOOTP_CLIENTS * (2 + 6));
    if (b.bad)
        return blob_bad(errp, "truncated (%zu bytes)", len);
    if (b.p != b.end)
        return blob_bad(errp, "%zu bytes after its end", (size_t)(b.end - b.p));
    return true;
}

/* The transient state of a section: the netdev it is for (not sent) and libslirp's. */
typedef struct SlirpMigState {
    SlirpNet *s;
    uint32_t version;                 /* slirp_state_version() of the saving libslirp */
    VMStateBlob state;                /* what slirp_state_save() wrote */
} SlirpMigState;

static bool slirp_post_load(void *opaque, int version, GError **errp)
{
    SlirpMigState *st = opaque;
    GError *err = NULL;
    if (st->version != SLIRP_STATE_V4 || (int)st->version > slirp_state_version())
        return vmstate_invalid(errp, "slirp", "libslirp state version %u (this Vireo "
                               "loads version %d with libslirp %s)", st->version,
                               SLIRP_STATE_V4, slirp_version_string());
    if (!slirp_blob_check(st->s, st->state.data, st->state.len, &err)) {
        vmstate_invalid(errp, "slirp", "%s", err->message);
        g_error_free(err);
        return false;
    }
    return true;
}

static const VMStateField slirp_mig_fields[] = {
    VMS_FIELD(SlirpMigState, version),
    VMS_BLOB_FIELD(SlirpMigState, state, NET_SLIRP_STATE_MAX),
    VMS_END,
};

const VMStateDesc vmstate_slirp = {
    .name = "slirp", .version = 1, .min_version = 1, .fields = slirp_mig_fields,
    .post_load = slirp_post_load,
};

static SlirpNet *user_netdev(NetBackend *nd, GError **errp)
{
    if (nd->type != NET_CLIENT_DRIVER_USER || !nd->nc[0] || nd->nc[0]->ops != &user_ops) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "netdev '%s' is not a user netdev", nd->id);
        return NULL;
    }
    return nd->nc[0]->opaque;
}

typedef struct SlirpIo {
    GByteArray *out;
    const uint8_t *in;
    size_t len, pos;
    bool short_read;
} SlirpIo;

static ssize_t slirp_io_write(const void *buf, size_t len, void *opaque)
{
    SlirpIo *io = opaque;
    io->len += len;
    if (io->len <= NET_SLIRP_STATE_MAX)
        g_byte_array_append(io->out, buf, len);
    return len;
}

static ssize_t slirp_io_read(void *buf, size_t len, void *opaque)
{
    SlirpIo *io = opaque;
    size_t n = MIN(len, io->len - io->pos);
    memcpy(buf, io->in + io->pos, n);
    io->pos += n;
    if (n < len)
        io->short_read = true;
    return n;
}

bool net_slirp_state_save(NetBackend *nd, GByteArray *out, GError **errp)
{
    SlirpNet *s = user_netdev(nd, errp);
    if (!s)
        return false;
    g_autoptr(GByteArray) blob = g_byte_array_new();
    SlirpIo io = { .out = blob };
    slirp_state_save(s->slirp, slirp_io_write, &io);
    if (io.len > NET_SLIRP_STATE_MAX) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "netdev '%s': libslirp's state "
                    "of %zu bytes is larger than the %u bytes a stream may carry",
                    nd->id, io.len, NET_SLIRP_STATE_MAX);
        return false;
    }
    SlirpMigState st = {
        .version = slirp_state_version(), .state = { blob->data, blob->len },
    };
    vmstate_save(&vmstate_slirp, &st, out);
    return true;
}

bool net_slirp_state_load(NetBackend *nd, const uint8_t *buf, size_t len, GError **errp)
{
    SlirpNet *s = user_netdev(nd, errp);
    if (!s)
        return false;
    SlirpMigState st = { .s = s };
    ssize_t n = vmstate_load(&vmstate_slirp, &st, buf, len, errp);
    bool ok = n >= 0;
    if (ok && (size_t)n != len) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%zu bytes left over",
                    len - n);
        ok = false;
    }
    if (ok) {
        SlirpIo io = { .in = st.state.data, .len = st.state.len };
        int r = slirp_state_load(s->slirp, st.version, slirp_io_read, &io);
        if (r < 0 || io.short_read || io.pos != io.len) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "libslirp refused its "
                        "state (%s, %zu of %zu bytes read)",
                        r < 0 ? g_strerror(-r) : "length", io.pos, io.len);
            ok = false;
        }
    }
    vmstate_blob_clear(&st.state);
    return ok;
}

/* ---- HMP ---- */

static SlirpNet *slirp_lookup(Machine *m, const char *id, GString *out)
{
    if (id) {
        NetBackend *nd = net_netdev_find(m, id);
        if (!nd) {
            g_string_append_printf(out, "unrecognized netdev id '%s'\n", id);
            return NULL;
        }
        if (nd->type != NET_CLIENT_DRIVER_USER) {
            g_string_append(out, "invalid device specified\n");
            return NULL;
        }
        return nd->nc[0]->opaque;
    }
    GPtrArray *a = net_clients(m);
    for (guint i = 0; i < a->len; i++)
        if (((NetClient *)a->pdata[i])->ops == &user_ops)
            return ((NetClient *)a->pdata[i])->opaque;
    g_string_append(out, "user mode network stack not in use\n");
    return NULL;
}

void net_slirp_hmp_hostfwd_add(Machine *m, const char *a1, const char *a2, GString *out)
{
    SlirpNet *s = slirp_lookup(m, a2 ? a1 : NULL, out);
    g_autoptr(GError) err = NULL;
    if (s && !hostfwd_add(s, a2 ? a2 : a1, &err))
        g_string_append_printf(out, "%s\n", err->message);
}

void net_slirp_hmp_hostfwd_remove(Machine *m, const char *a1, const char *a2, GString *out)
{
    SlirpNet *s = slirp_lookup(m, a2 ? a1 : NULL, out);
    const char *rule = a2 ? a2 : a1, *p = rule;
    char buf[128];
    struct in_addr host = { .s_addr = INADDR_ANY };
    int is_udp, port;
    if (!s)
        return;
    if (!take_field(buf, &p, ':'))
        goto syntax;
    if (!strcmp(buf, "tcp") || !buf[0])
        is_udp = 0;
    else if (!strcmp(buf, "udp"))
        is_udp = 1;
    else
        goto syntax;
    if (!take_field(buf, &p, ':') || (buf[0] && !inet_aton(buf, &host)) ||
        !parse_int(p, 0, 65535, &port))
        goto syntax;
    int err = slirp_remove_hostfwd(s->slirp, is_udp, host, port);
    g_string_append_printf(out, "host forwarding rule for %s %s\n", rule,
                           err ? "not found" : "removed");
    return;
syntax:
    g_string_append(out, "invalid format\n");
}

void net_slirp_hmp_info_usernet(Machine *m, GString *out)
{
    GPtrArray *a = net_clients(m);
    for (guint i = 0; i < a->len; i++) {
        NetClient *nc = a->pdata[i];
        if (nc->ops != &user_ops)
            continue;
        SlirpNet *s = nc->opaque;
        g_autofree char *info = slirp_connection_info(s->slirp);
        g_string_append_printf(out, "Hub -1 (%s):\n%s", nc->name, info);
    }
}
