/*
 * A client's incoming queue: packets its peer sent while it could not receive. Each
 * packet is copied (the sender's buffer, e.g. guest memory, may be reused at once).
 * Packets whose sender waits for a callback are always kept (the sender produces
 * nothing more until the callback, so there is at most one per sender); others are
 * kept up to NET_QUEUE_MAX_PACKETS and dropped beyond, as a full FIFO drops them.
 */
#include "net-int.h"
#include <string.h>

typedef struct NetPacket {
    NetClient *sender;
    NetSentCb *cb;
    size_t len;
    uint8_t data[];
} NetPacket;

struct NetQueue {
    GQueue packets;
    unsigned nocb;                  /* packets without a callback */
};

NetQueue *net_queue_new(void)
{
    NetQueue *q = g_new0(NetQueue, 1);
    g_queue_init(&q->packets);
    return q;
}

void net_queue_free(NetQueue *q)
{
    if (!q)
        return;
    net_queue_purge(q, NULL, false);
    g_free(q);
}

unsigned net_queue_len(const NetQueue *q)
{
    return q ? q->packets.length : 0;
}

bool net_queue_append(NetQueue *q, NetClient *sender, const struct iovec *iov, int cnt,
                      size_t len, NetSentCb *cb)
{
    if (!cb && q->nocb >= NET_QUEUE_MAX_PACKETS)
        return false;
    NetPacket *p = g_malloc(sizeof(*p) + len);
    p->sender = sender;
    p->cb = cb;
    p->len = iov_to_buf_n(iov, cnt, 0, p->data, len);
    g_queue_push_tail(&q->packets, p);
    if (!cb)
        q->nocb++;
    return true;
}

static NetPacket *pop(NetQueue *q)
{
    NetPacket *p = g_queue_pop_head(&q->packets);
    if (p && !p->cb)
        q->nocb--;
    return p;
}

unsigned net_queue_flush(NetQueue *q, NetClient *nc)
{
    unsigned done = 0, budget = q->packets.length;
    while (budget-- && q->packets.length) {
        if (nc->ops->can_receive && !nc->ops->can_receive(nc)) {
            nc->receive_disabled = true;
            break;
        }
        NetPacket *p = pop(q);
        struct iovec iov = { p->data, p->len };
        ssize_t r = nc->link_down ? (ssize_t)p->len : nc->ops->receive(nc, &iov, 1);
        if (r == 0) {                         /* still full: back to the front */
            g_queue_push_head(&q->packets, p);
            if (!p->cb)
                q->nocb++;
            nc->receive_disabled = true;
            break;
        }
        NetClient *s = p->sender;
        NetSentCb *cb = p->cb;
        g_free(p);
        done++;
        if (cb)
            cb(s, r);                         /* may send again (appending here) */
    }
    return done;
}

void net_queue_purge(NetQueue *q, NetClient *from, bool notify)
{
    GSList *dropped = NULL;
    for (GList *l = q->packets.head; l;) {
        GList *next = l->next;
        NetPacket *p = l->data;
        if (!from || p->sender == from) {
            g_queue_delete_link(&q->packets, l);
            if (!p->cb)
                q->nocb--;
            dropped = g_slist_prepend(dropped, p);
        }
        l = next;
    }
    /* Callbacks after the walk: a sender may send again from its callback. */
    dropped = g_slist_reverse(dropped);
    for (GSList *l = dropped; l; l = l->next) {
        NetPacket *p = l->data;
        if (notify && p->cb && p->sender != from)
            p->cb(p->sender, 0);
        g_free(p);
    }
    g_slist_free(dropped);
}
