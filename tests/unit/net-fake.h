/*
 * A backend for NIC unit tests: a netdev ("fake") whose client records every frame the
 * NIC sends it and can send frames to the NIC, refuse for a while (a full tap), or
 * pretend to carry the virtio-net header.
 */
#ifndef TESTS_UNIT_NET_FAKE_H
#define TESTS_UNIT_NET_FAKE_H

#include "../../net/net-int.h"
#include <string.h>

typedef struct FakeNet {
    NetClient *nc;
    GPtrArray *frames;        /* GByteArray * received from the NIC */
    bool full;                /* receive returns 0 (queue) */
    bool vnet;                /* has the virtio-net header */
    bool using_vnet;
    NetOffloads offloads;
    unsigned sent_cbs;        /* callbacks for our queued frames */
} FakeNet;

static ssize_t fake_receive(NetClient *nc, const struct iovec *iov, int cnt)
{
    FakeNet *f = nc->opaque;
    if (f->full)
        return 0;
    size_t len = iov_size_n(iov, cnt);
    GByteArray *b = g_byte_array_sized_new(len);
    g_byte_array_set_size(b, len);
    iov_to_buf_n(iov, cnt, 0, b->data, len);
    g_ptr_array_add(f->frames, b);
    return len;
}

static bool fake_can_receive(NetClient *nc) { return !((FakeNet *)nc->opaque)->full; }
static bool fake_has_vnet(NetClient *nc) { return ((FakeNet *)nc->opaque)->vnet; }
static void fake_using_vnet(NetClient *nc, bool on) { ((FakeNet *)nc->opaque)->using_vnet = on; }
static void fake_offload(NetClient *nc, const NetOffloads *o)
{
    ((FakeNet *)nc->opaque)->offloads = *o;
}

static void fake_cleanup(NetClient *nc)
{
    FakeNet *f = nc->opaque;
    g_ptr_array_unref(f->frames);
    g_free(f);
}

static const NetClientOps fake_ops = {
    .kind = NET_KIND_SOCKET, .type = "socket", .receive = fake_receive,
    .can_receive = fake_can_receive, .cleanup = fake_cleanup, .has_vnet_hdr = fake_has_vnet,
    .using_vnet_hdr = fake_using_vnet, .set_offload = fake_offload,
};

/* A backend "ID" on machine @m (a NIC claims it with netdev=ID). */
static inline FakeNet *fake_net_new(Machine *m, const char *id, bool vnet)
{
    FakeNet *f = g_new0(FakeNet, 1);
    f->frames = g_ptr_array_new_with_free_func((GDestroyNotify)g_byte_array_unref);
    f->vnet = vnet;
    NetBackend *nd = net_netdev_alloc(m, id, NET_CLIENT_DRIVER_SOCKET, 1);
    nd->user_created = true;
    f->nc = nd->nc[0] = net_client_new(m, &fake_ops, "socket", id, f);
    f->nc->netdev = nd;
    f->nc->is_netdev = true;
    return f;
}

static void fake_sent(NetClient *nc, ssize_t ret)
{
    ((FakeNet *)nc->opaque)->sent_cbs++;
}

/* Sends @len bytes to the NIC; returns net_send's result. */
static inline ssize_t fake_send(FakeNet *f, const void *buf, size_t len)
{
    return net_send_buf(f->nc, buf, len, fake_sent);
}

static inline GByteArray *fake_frame(FakeNet *f, guint i)
{
    g_assert_cmpuint(i, <, f->frames->len);
    return f->frames->pdata[i];
}

/* An Ethernet frame to @dst of @len bytes (type 0x0800, payload a counting pattern). */
static inline void make_frame(uint8_t *buf, size_t len, const uint8_t *dst)
{
    static const uint8_t src[6] = { 0x02, 0, 0, 0, 0, 0x99 };
    memcpy(buf, dst, 6);
    memcpy(buf + 6, src, 6);
    buf[12] = 0x08, buf[13] = 0x00;
    for (size_t i = 14; i < len; i++)
        buf[i] = i;
}

#endif
