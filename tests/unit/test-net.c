/*
 * The network layer (net/): peers and queues (a stalled receiver holds frames, never
 * drops a sender's with a callback, flushes in order, bounded), link state, hubs, QEMU's
 * default MACs, option parsing (-netdev keyval with short booleans, repeated hostfwd,
 * ipv6-net, JSON; -nic; -net with hubs; errors naming the culprit), "info network",
 * slirp answering ARP on the main loop, and the stream backend's framing.
 */
#include <glib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vireo/machine.h"
#include "vireo/pc.h"
#include "vireo/pci.h"
#include "net-fake.h"

#define RAM (16u << 20)

static Machine *machine(void)
{
    GError *err = NULL;
    Machine *m = machine_new_test(RAM);
    g_assert_nonnull(pci_bus_new_pc(m, &err));
    return m;
}

/* ---- queues and peers ---- */

typedef struct Sink {
    NetClient *nc;
    bool full;
    unsigned got;
    GString *data;
} Sink;

static ssize_t sink_receive(NetClient *nc, const struct iovec *iov, int cnt)
{
    Sink *s = nc->opaque;
    if (s->full)
        return 0;
    size_t len = iov_size_n(iov, cnt);
    char buf[256];
    iov_to_buf_n(iov, cnt, 0, buf, MIN(len, sizeof(buf)));
    g_string_append_len(s->data, buf, MIN(len, sizeof(buf)));
    s->got++;
    return len;
}

static const NetClientOps sink_ops = {
    .kind = NET_KIND_NIC, .type = "nic", .receive = sink_receive,
};

static void test_queue(void)
{
    Machine *m = machine_new_test(0);
    FakeNet *f = fake_net_new(m, "b", false);
    Sink s = { .data = g_string_new(NULL) };
    s.nc = net_client_new(m, &sink_ops, "sink", NULL, &s);
    net_client_connect(s.nc, f->nc);
    g_assert_cmpstr(s.nc->name, ==, "sink.0");
    g_assert_cmpint(fake_send(f, "a", 1), ==, 1);
    s.full = true;                              /* no buffers: frames wait, in order */
    g_assert_cmpint(fake_send(f, "b", 1), ==, 0);
    g_assert_cmpint(fake_send(f, "c", 1), ==, 0);
    g_assert_false(net_can_send(f->nc));
    g_assert_cmpuint(net_queued(s.nc), ==, 2);
    g_assert_cmpuint(f->sent_cbs, ==, 0);
    s.full = false;
    g_assert_cmpuint(net_flush_queued(s.nc), ==, 2);
    g_assert_cmpstr(s.data->str, ==, "abc");
    g_assert_cmpuint(f->sent_cbs, ==, 2);
    /* Without a callback, at most NET_QUEUE_MAX_PACKETS wait; the rest are dropped. */
    s.full = true;
    for (unsigned i = 0; i < NET_QUEUE_MAX_PACKETS + 10; i++)
        net_send_buf(f->nc, "x", 1, NULL);
    g_assert_cmpuint(net_queued(s.nc), ==, NET_QUEUE_MAX_PACKETS);
    s.full = false;
    net_flush_queued(s.nc);
    g_assert_cmpuint(s.got, ==, 3 + NET_QUEUE_MAX_PACKETS);
    /* Link down: the wire drops (returns the length), nothing queues. */
    GError *err = NULL;
    g_assert_true(net_set_link(m, "sink.0", false, &err));
    g_assert_cmpint(fake_send(f, "zz", 2), ==, 2);
    g_assert_cmpuint(s.got, ==, 3 + NET_QUEUE_MAX_PACKETS);
    g_assert_false(net_set_link(m, "nope", false, &err));
    g_assert_cmpstr(err->message, ==, "Device 'nope' not found");
    g_clear_error(&err);
    /* A frame too large for any NIC is refused. */
    static uint8_t big[NET_MAX_FRAME + 1];
    net_set_link(m, "sink.0", true, &err);
    g_assert_cmpint(fake_send(f, big, sizeof(big)), <, 0);
    /* Freeing the receiver lets a waiting sender go on (its callback runs). */
    s.full = true;
    fake_send(f, "q", 1);
    unsigned cbs = f->sent_cbs;
    net_client_free(s.nc);
    g_assert_cmpuint(f->sent_cbs, ==, cbs + 1);
    g_string_free(s.data, TRUE);
    machine_free(m);
}

static void test_backend_failure(void)
{
    Machine *m = machine_new_test(0);
    FakeNet *f = fake_net_new(m, "b", false);
    Sink s = { .data = g_string_new(NULL) };
    s.nc = net_client_new(m, &sink_ops, "sink", NULL, &s);
    net_client_connect(s.nc, f->nc);
    net_backend_failed(f->nc, "test failure");
    g_assert_true(f->nc->link_down);
    g_assert_true(s.nc->link_down);             /* the guest sees the carrier go */
    net_client_free(s.nc);
    g_string_free(s.data, TRUE);
    machine_free(m);
}

/* ---- options, backends, NICs ---- */

static char *info_network(Machine *m)
{
    GString *s = g_string_new(NULL);
    net_info_network(m, s);
    return g_string_free(s, FALSE);
}

/* Parses the options like the command line, creates backends, the default NIC as the
 * pc board's default devices do (hw/i386/pc-defaults.c, not under -nodefaults), and
 * the board's NICs. */
static Machine *configure(const char *const *argv, GError **errp)
{
    Machine *m = machine();
    NetOptions *o = net_options_new();
    bool ok = true;
    for (; ok && argv[0]; argv += 2) {
        if (!strcmp(argv[0], "-netdev"))
            ok = net_option_netdev(o, argv[1], errp);
        else if (!strcmp(argv[0], "-nic"))
            ok = net_option_nic(o, argv[1], errp);
        else
            ok = net_option_net(o, argv[1], errp);
    }
    ok = ok && net_init_clients(m, o, errp) && net_add_default_nic(m, errp) &&
         net_create_nics(m, "e1000", errp);
    net_options_free(o);
    if (!ok) {
        machine_free(m);
        return NULL;
    }
    return m;
}

static void test_default_nic(void)
{
    GError *err = NULL;
    const char *none[] = { NULL };
    Machine *m = configure(none, &err);
    g_assert_no_error(err);
    g_autofree char *info = info_network(m);
    g_assert_cmpstr(info, ==,
        "hub 0\n"
        " \\ hub0port1: user.0: index=0,type=user,net=10.0.2.0,restrict=off\n"
        " \\ hub0port0: e1000.0: index=0,type=nic,model=e1000,macaddr=52:54:00:12:34:56\n");
    PciDevice *nic = pci_bus_get_device(m->pci_bus, PCI_DEVFN(2, 0));
    g_assert_nonnull(nic);
    g_assert_cmphex(pci_get_long(nic, 0), ==, 0x100e8086);
    machine_free(m);

    /* Any network option, "-nic none" included, means no default NIC (QEMU's vl.c). */
    const char *nonic[] = { "-nic", "none", NULL };
    const char *netdev[] = { "-netdev", "user,id=u1", NULL };
    const char *const *cases[] = { nonic, netdev };
    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        m = configure(cases[i], &err);
        g_assert_no_error(err);
        g_assert_null(pci_bus_get_device(m->pci_bus, PCI_DEVFN(2, 0)));
        machine_free(m);
    }
}

static void test_nic_option(void)
{
    GError *err = NULL;
    const char *argv[] = {
        "-nic", "user,model=virtio,hostfwd=tcp:127.0.0.1:0-:22,hostfwd=udp::0-:53",
        "-nic", "user,mac=02:00:00:00:00:01,net=192.168.76.0/24",
        "-nic", "none", NULL };
    Machine *m = configure(argv, &err);
    g_assert_no_error(err);
    g_autofree char *info = info_network(m);
    g_assert_cmpstr(info, ==,
        "virtio-net-pci.0: index=0,type=nic,model=virtio-net-pci,macaddr=52:54:00:12:34:56\n"
        " \\ __org.qemu.nic0: index=0,type=user,net=10.0.2.0,restrict=off\n"
        "e1000.0: index=0,type=nic,model=e1000,macaddr=02:00:00:00:00:01\n"
        " \\ __org.qemu.nic1: index=0,type=user,net=192.168.76.0,restrict=off\n");
    machine_free(m);
}

static void test_netdev_forms(void)
{
    GError *err = NULL;
    const char *argv[] = {
        "-netdev", "user,id=u1,restrict,ipv6-net=fd00:1::/48,dns=10.0.2.9,"
                   "hostname=guest,domainname=example.org,dnssearch=a.example",
        "-netdev", "{\"type\":\"user\",\"id\":\"u2\",\"ipv4\":true,\"ipv6\":false,"
                   "\"hostfwd\":[{\"str\":\"tcp::0-:80\"}]}",
        "-netdev", "hubport,id=h1,hubid=3",
        "-net", "user,name=legacy",
        "-net", "nic,model=virtio-net-pci,macaddr=52:54:00:12:34:60", NULL };
    Machine *m = configure(argv, &err);
    g_assert_no_error(err);
    g_autofree char *info = info_network(m);
    g_assert_true(g_str_has_prefix(info,
        "hub 0\n \\ hub0port1: virtio-net-pci.0: index=0,type=nic,"));
    g_assert_nonnull(strstr(info, " \\ hub0port0: legacy: index=0,type=user,"));
    g_assert_nonnull(strstr(info, "hub 3\n \\ h1\n"));
    g_assert_nonnull(strstr(info, "u1: index=0,type=user,net=10.0.2.0,restrict=on\n"));
    g_assert_nonnull(strstr(info, "macaddr=52:54:00:12:34:60"));
    /* netdev_del: only -netdev backends; the hub port of -net is not one. */
    g_assert_false(net_netdev_del(m, "hub0port1", &err));
    g_assert_cmpstr(err->message, ==, "Device 'hub0port1' is not a netdev");
    g_clear_error(&err);
    g_assert_true(net_netdev_del(m, "u2", &err));
    g_assert_null(net_netdev_find(m, "u2"));
    machine_free(m);
}

static void check_error(const char *opt, const char *arg, const char *want)
{
    GError *err = NULL;
    const char *argv[] = { opt, arg, NULL };
    Machine *m = configure(argv, &err);
    g_assert_null(m);
    g_assert_nonnull(err);
    if (!strstr(err->message, want))
        g_error("%s %s: got '%s', want '%s'", opt, arg, err->message, want);
    g_error_free(err);
}

static void test_errors(void)
{
    check_error("-netdev", "user", "Parameter 'id' is missing");
    check_error("-netdev", "user,id=1x", "Parameter 'id' expects an identifier");
    check_error("-netdev", "user,id=u,foo=bar", "Parameter 'foo' is unexpected");
    check_error("-netdev", "user,id=u,net=10.0.2.0/40", "Invalid netmask provided");
    check_error("-netdev", "user,id=u,host=1.2.3.4", "Host doesn't belong to network");
    check_error("-netdev", "user,id=u,dns=10.0.2.2", "DNS must be different from host");
    check_error("-netdev", "user,id=u,ipv4=off,ipv6=off", "IPv4 and IPv6 disabled");
    check_error("-netdev", "user,id=u,hostfwd=tcp::99999-:22",
                "Invalid host forwarding rule 'tcp::99999-:22' (Bad host port)");
    check_error("-netdev", "user,id=u,hostfwd=tcp::22",
                "Invalid host forwarding rule 'tcp::22' (Bad host port separator)");
    check_error("-netdev", "user,id=u,guestfwd=tcp:10.0.2.100:x-cmd:true",
                "Invalid guest forwarding rule");
    check_error("-netdev", "user,id=u,smb=/tmp", "smb=");
    check_error("-netdev", "user,id=u,restrict=maybe", "restrict");
    check_error("-netdev", "vde,id=v", "network backend 'vde' is not supported");
    check_error("-netdev", "nic,id=v", "Parameter 'type' expects a netdev backend type");
    check_error("-netdev", "tap,id=t,fd=3,ifname=x", "are invalid with fd=");
    check_error("-netdev", "tap,id=t,fd=999", "fd=999: not an open file descriptor");
    check_error("-netdev", "tap,id=t,vhostfds=3", "vhostfds= is invalid if fds=");
    check_error("-netdev", "socket,id=s", "exactly one of fd=, listen=, connect=");
    check_error("-netdev", "socket,id=s,mcast=10.0.0.1:1234", "does not contain a multicast");
    check_error("-netdev", "dgram,id=d", "dgram requires local= parameter");
    check_error("-netdev", "stream,id=s,addr.type=inet,addr.host=x", "Parameter 'addr.port'");
    check_error("-netdev", "{\"type\":\"user\",\"id\":\"u\",\"ipv4\":\"yes\"}", "ipv4");
    check_error("-nic", "user,model=ne2k_pci", "Unsupported NIC model: ne2k_pci");
    check_error("-nic", "user,mac=nonsense", "invalid syntax for ethernet address");
    check_error("-net", "nic,model=e1000,foo=1", "Parameter 'foo' is unexpected");
    GError *err = NULL;
    const char *dup[] = { "-netdev", "user,id=u", "-netdev", "user,id=u", NULL };
    g_assert_null(configure(dup, &err));
    g_assert_nonnull(strstr(err->message, "Duplicate ID 'u' for netdev"));
    g_clear_error(&err);
    const char *busy[] = { "-netdev", "user,id=u", "-net", "nic,netdev=u",
                           "-net", "nic,netdev=u", NULL };
    g_assert_null(configure(busy, &err));
    g_assert_cmpstr(err->message, ==,
                    "Property 'e1000.netdev' can't take value 'u', it's in use");
    g_clear_error(&err);
}

static void test_mac_addresses(void)
{
    Machine *m = machine_new_test(0);
    NicConf a = { 0 }, b = { 0 }, c = { .macaddr = { 0x52, 0x54, 0, 0x12, 0x34, 0x57 } };
    net_macaddr_default_if_unset(m, &c);                 /* given: marks 0x57 used */
    net_macaddr_default_if_unset(m, &a);
    net_macaddr_default_if_unset(m, &b);
    g_assert_cmphex(a.macaddr[5], ==, 0x56);
    g_assert_cmphex(b.macaddr[5], ==, 0x58);
    net_macaddr_release(m, a.macaddr);
    NicConf d = { 0 };
    net_macaddr_default_if_unset(m, &d);
    g_assert_cmphex(d.macaddr[5], ==, 0x56);            /* the first free one again */
    machine_free(m);
}

/* ---- slirp on the main loop: ARP for the gateway is answered ---- */

/* A machine without RAM or devices and one "-netdev user,id=u". */
static Machine *machine_with_slirp(void)
{
    GError *err = NULL;
    Machine *m = machine_new_test(0);
    JsonObject *o = net_parse_netdev_text("netdev", "user,id=u", &(bool){0}, &(bool){0},
                                          &err);
    g_assert_no_error(err);
    g_assert_nonnull(net_netdev_add_from(m, o, true, &err));
    json_object_unref(o);
    return m;
}

static void test_slirp_arp(void)
{
    Machine *m = machine_with_slirp();
    Sink s = { .data = g_string_new(NULL) };
    s.nc = net_client_new(m, &sink_ops, "sink", NULL, &s);
    net_client_connect(s.nc, net_netdev_find(m, "u")->nc[0]);
    uint8_t arp[42] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0, 0x12, 0x34, 0x56, 0x08, 0x06,
        0, 1, 0x08, 0, 6, 4, 0, 1, 0x52, 0x54, 0, 0x12, 0x34, 0x56, 10, 0, 2, 15,
        0, 0, 0, 0, 0, 0, 10, 0, 2, 2 };
    net_send_buf(s.nc, arp, sizeof(arp), NULL);
    for (int i = 0; i < 10 && !s.got; i++)
        g_main_context_iteration(NULL, FALSE);
    g_assert_cmpuint(s.got, ==, 1);
    const uint8_t *r = (const uint8_t *)s.data->str;
    g_assert_cmpuint(r[12], ==, 0x08);
    g_assert_cmpuint(r[13], ==, 0x06);                   /* ARP */
    g_assert_cmpuint(r[21], ==, 2);                      /* reply */
    g_assert_cmpmem(r + 28, 4, "\x0a\x00\x02\x02", 4);   /* from 10.0.2.2 */
    net_client_free(s.nc);
    g_string_free(s.data, TRUE);
    machine_free(m);
}

static gboolean idle_ran(gpointer opaque)
{
    (*(unsigned *)opaque)++;
    return G_SOURCE_REMOVE;
}

/* Regression: slirp's source said "ready" after every poll, so GLib never dispatched a
 * lower-priority (idle) source while a -netdev user existed, and the pending idle kept
 * every poll at timeout 0: the main loop spun (a QMP client's clean-up, a snapshot job
 * step, a NIC's deferred transmit waited forever). */
static void test_slirp_lets_idle_run(void)
{
    Machine *m = machine_with_slirp();
    unsigned ran = 0;
    g_idle_add(idle_ran, &ran);
    for (int i = 0; i < 10 && !ran; i++)
        g_main_context_iteration(NULL, FALSE);
    g_assert_cmpuint(ran, ==, 1);
    /* With nothing due, an iteration dispatches nothing (slirp is not run every time). */
    bool quiet = false;
    for (int i = 0; i < 5 && !quiet; i++)
        quiet = !g_main_context_iteration(NULL, FALSE);
    g_assert_true(quiet);
    machine_free(m);
}

/* ---- stream: 4-byte big-endian length, then the frame ---- */

static void test_stream_framing(void)
{
    GError *err = NULL;
    int sv[2];
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
    Machine *m = machine_new_test(0);
    g_autofree char *arg = g_strdup_printf("stream,id=s,addr.type=fd,addr.str=%d", sv[0]);
    bool kv, help;
    JsonObject *o = net_parse_netdev_text("netdev", arg, &kv, &help, &err);
    g_assert_no_error(err);
    g_assert_nonnull(net_netdev_add_from(m, o, kv, &err));
    g_assert_no_error(err);
    json_object_unref(o);
    Sink s = { .data = g_string_new(NULL) };
    s.nc = net_client_new(m, &sink_ops, "sink", NULL, &s);
    net_client_connect(s.nc, net_netdev_find(m, "s")->nc[0]);
    g_assert_cmpint(net_send_buf(s.nc, "hello", 5, NULL), ==, 5);
    uint8_t buf[16];
    g_assert_cmpint(read(sv[1], buf, sizeof(buf)), ==, 9);
    g_assert_cmpmem(buf, 9, "\0\0\0\5hello", 9);
    /* Two frames in one write, one split over two writes. */
    g_assert_cmpint(write(sv[1], "\0\0\0\2ab\0\0\0\3c", 11), ==, 11);
    for (int i = 0; i < 5; i++)
        g_main_context_iteration(NULL, FALSE);
    g_assert_cmpint(write(sv[1], "de", 2), ==, 2);
    for (int i = 0; i < 5 && s.got < 2; i++)
        g_main_context_iteration(NULL, FALSE);
    g_assert_cmpuint(s.got, ==, 2);
    g_assert_cmpstr(s.data->str, ==, "abcde");
    /* A length beyond any frame drops the connection: link down, process alive. */
    g_assert_cmpint(write(sv[1], "\xff\xff\xff\xff", 4), ==, 4);
    for (int i = 0; i < 5 && !s.nc->link_down; i++)
        g_main_context_iteration(NULL, FALSE);
    g_assert_true(s.nc->link_down);
    close(sv[1]);
    net_client_free(s.nc);
    g_string_free(s.data, TRUE);
    machine_free(m);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL);
    g_test_add_func("/net/queue", test_queue);
    g_test_add_func("/net/slirp-lets-idle-run", test_slirp_lets_idle_run);
    g_test_add_func("/net/backend-failure", test_backend_failure);
    g_test_add_func("/net/default-nic", test_default_nic);
    g_test_add_func("/net/nic-option", test_nic_option);
    g_test_add_func("/net/netdev-forms", test_netdev_forms);
    g_test_add_func("/net/errors", test_errors);
    g_test_add_func("/net/mac-addresses", test_mac_addresses);
    g_test_add_func("/net/slirp-arp", test_slirp_arp);
    g_test_add_func("/net/stream-framing", test_stream_framing);
    return g_test_run();
}
