/*
 * "isa-serial": a 16550A UART (National Semiconductor PC16550D datasheet; register
 * numbers as in Linux's include/uapi/linux/serial_reg.h).
 *
 * Output goes to the chardev without blocking the vCPU: a byte the backend cannot
 * take stays in the transmitter (THRE/TEMT stay clear, so the guest waits) until the
 * chardev reports it writable. Input fills the RX FIFO as far as can_read allows, so
 * nothing is dropped when the guest is slow. There is no baud-rate pacing of output
 * (as in QEMU); the divisor only sets the RX character-timeout interval.
 */
#include "vireo/hw-isa.h"
#include "vireo/machine.h"
#include <errno.h>
#include <string.h>

#define UART_FIFO_LEN 16

/* Registers (offset from iobase) */
#define UART_RX  0   /* in: receive buffer (DLAB=0) */
#define UART_TX  0   /* out: transmit holding (DLAB=0) */
#define UART_DLL 0   /* divisor latch low (DLAB=1) */
#define UART_IER 1
#define UART_DLM 1
#define UART_IIR 2   /* in */
#define UART_FCR 2   /* out */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define IER_RDI  0x01    /* received data available */
#define IER_THRI 0x02    /* transmitter holding register empty */
#define IER_RLSI 0x04    /* receiver line status */
#define IER_MSI  0x08    /* modem status */

#define IIR_NO_INT 0x01
#define IIR_MSI    0x00
#define IIR_THRI   0x02
#define IIR_RDI    0x04
#define IIR_RLSI   0x06
#define IIR_CTI    0x0c  /* character timeout (FIFO mode) */
#define IIR_ID     0x0e
#define IIR_FIFO   0xc0

#define FCR_FE     0x01
#define FCR_RFR    0x02  /* clear RX FIFO */
#define FCR_XFR    0x04  /* clear TX FIFO */
#define FCR_DMA    0x08
#define FCR_ITL    0xc0

#define LCR_DLAB   0x80
#define LCR_SBC    0x40  /* set break */

#define MCR_DTR    0x01
#define MCR_RTS    0x02
#define MCR_OUT1   0x04
#define MCR_OUT2   0x08
#define MCR_LOOP   0x10

#define LSR_DR     0x01
#define LSR_OE     0x02
#define LSR_PE     0x04
#define LSR_FE     0x08
#define LSR_BI     0x10
#define LSR_THRE   0x20
#define LSR_TEMT   0x40
#define LSR_FIFOE  0x80
#define LSR_INT_ANY (LSR_OE | LSR_PE | LSR_FE | LSR_BI)

#define MSR_DCTS   0x01
#define MSR_DDSR   0x02
#define MSR_TERI   0x04
#define MSR_DDCD   0x08
#define MSR_DELTAS 0x0f
#define MSR_CTS    0x10
#define MSR_DSR    0x20
#define MSR_RI     0x40
#define MSR_DCD    0x80
/* With no real modem behind the chardev, the inputs say "connected, clear to send". */
#define MSR_IDLE_LINES (MSR_DCD | MSR_DSR | MSR_CTS)

#define SERIAL_BAUD_BASE 115200
#define SERIAL_AUTO UINT32_MAX      /* QEMU's -1: from the index / the next free */

/* Guest-visible state (migrated). FIFO indexes are always taken modulo the FIFO
 * size, so no loaded state can reach outside the arrays. */
typedef struct SerialState {
    uint16_t divider;
    uint8_t ier, iir, lcr, mcr, lsr, msr, scr, fcr;
    uint8_t thr_ipending;       /* THRE interrupt pending (cleared by IIR read/THR write) */
    uint8_t timeout_ipending;   /* character timeout pending */
    uint8_t tsr, tsr_busy;      /* transmitter shift register */
    uint8_t rx_fifo[UART_FIFO_LEN], rx_head, rx_count;
    uint8_t tx_fifo[UART_FIFO_LEN], tx_head, tx_count;
} SerialState;

typedef struct Serial {
    Device parent;
    uint32_t iobase;           /* properties: QEMU's uint32, SERIAL_AUTO by default */
    uint32_t irq;
    uint32_t index;
    char *chardev;
    SerialState s;
    Chardev *chr;
    const IrqLine *irq_line;
    bool irq_level;
    bool tx_waiting;           /* a writable notification is pending */
    MemRegion io;
    Timer *fifo_timeout;
} Serial;

static const struct { uint16_t iobase; uint8_t irq; } com_defaults[] = {
    { 0x3f8, 4 }, { 0x2f8, 3 }, { 0x3e8, 4 }, { 0x2e8, 3 },
};

uint16_t serial_isa_default_iobase(unsigned index)
{
    return index < G_N_ELEMENTS(com_defaults) ? com_defaults[index].iobase : 0;
}

uint8_t serial_isa_default_irq(unsigned index)
{
    return index < G_N_ELEMENTS(com_defaults) ? com_defaults[index].irq : 0;
}

static unsigned fifo_capacity(const SerialState *s)
{
    return (s->fcr & FCR_FE) ? UART_FIFO_LEN : 1;
}

static unsigned rx_trigger_level(const SerialState *s)
{
    static const uint8_t itl[] = { 1, 4, 8, 14 };
    return itl[s->fcr >> 6];
}

/* Interrupt identification in 16550A priority order (datasheet table "Interrupt
 * Control Functions"): line status, RX data / timeout, THR empty, modem status. */
static void serial_update_irq(Serial *u)
{
    SerialState *s = &u->s;
    uint8_t id = IIR_NO_INT;
    if ((s->ier & IER_RLSI) && (s->lsr & LSR_INT_ANY))
        id = IIR_RLSI;
    else if ((s->ier & IER_RDI) && s->timeout_ipending)
        id = IIR_CTI;
    else if ((s->ier & IER_RDI) && (s->lsr & LSR_DR) &&
             (!(s->fcr & FCR_FE) || s->rx_count >= rx_trigger_level(s)))
        id = IIR_RDI;
    else if ((s->ier & IER_THRI) && s->thr_ipending)
        id = IIR_THRI;
    else if ((s->ier & IER_MSI) && (s->msr & MSR_DELTAS))
        id = IIR_MSI;
    s->iir = id | ((s->fcr & FCR_FE) ? IIR_FIFO : 0);
    bool level = id != IIR_NO_INT;
    if (level != u->irq_level) {
        u->irq_level = level;
        irq_set(u->irq_line, level);
    }
}

/* Four character times at the current line settings: the RX timeout interval. */
static int64_t serial_timeout_ns(const SerialState *s)
{
    unsigned data = 5 + (s->lcr & 3), parity = !!(s->lcr & 0x08);
    unsigned stop = (s->lcr & 0x04) ? 2 : 1;
    unsigned bits = 1 + data + parity + stop;
    uint64_t div = s->divider ? s->divider : 1;
    return (int64_t)(4ULL * bits * div * 1000000000ULL / SERIAL_BAUD_BASE);
}

static void serial_arm_timeout(Serial *u)
{
    if (u->fifo_timeout)
        timer_mod(u->fifo_timeout, clock_ns(u->parent.machine->clock) +
                  serial_timeout_ns(&u->s));
}

static void serial_fifo_timeout(void *opaque)
{
    Serial *u = opaque;
    if (u->s.rx_count) {
        u->s.timeout_ipending = 1;
        serial_update_irq(u);
    }
}

/* Puts received bytes into the RX FIFO (or the RBR in 16450 mode). */
static void serial_receive(Serial *u, const uint8_t *buf, size_t len)
{
    SerialState *s = &u->s;
    unsigned cap = fifo_capacity(s);
    for (size_t i = 0; i < len; i++) {
        if (!(s->fcr & FCR_FE) && (s->lsr & LSR_DR)) {
            s->lsr |= LSR_OE;                 /* 16450 mode: the new byte overwrites */
            s->rx_fifo[s->rx_head % UART_FIFO_LEN] = buf[i];
            continue;
        }
        if (s->rx_count >= cap) {
            s->lsr |= LSR_OE;                 /* FIFO full: the new byte is lost */
            continue;
        }
        s->rx_fifo[(s->rx_head + s->rx_count++) % UART_FIFO_LEN] = buf[i];
    }
    s->lsr |= LSR_DR;
    if (s->fcr & FCR_FE) {
        s->timeout_ipending = 0;
        serial_arm_timeout(u);
    }
    serial_update_irq(u);
}

static void serial_receive_break(Serial *u)
{
    static const uint8_t zero = 0;
    serial_receive(u, &zero, 1);
    u->s.lsr |= LSR_BI | ((u->s.fcr & FCR_FE) ? LSR_FIFOE : 0);
    serial_update_irq(u);
}

static void serial_tx_ready(void *opaque);

/* Moves bytes from the THR/FIFO through the shift register to the backend (or back
 * to the receiver in loopback) until done or the backend is full. */
static void serial_xmit(Serial *u)
{
    SerialState *s = &u->s;
    for (;;) {
        if (!s->tsr_busy) {
            if (s->tx_count == 0)
                break;
            s->tsr = s->tx_fifo[s->tx_head % UART_FIFO_LEN];
            s->tx_head = (s->tx_head + 1) % UART_FIFO_LEN;
            s->tx_count--;
            s->tsr_busy = 1;
            if (s->tx_count == 0) {           /* holding register empty again */
                s->lsr |= LSR_THRE;
                s->thr_ipending = 1;
            }
        }
        if (s->mcr & MCR_LOOP) {
            serial_receive(u, &s->tsr, 1);
        } else if (u->chr && chr_write_nonblock(u->chr, &s->tsr, 1) == -EAGAIN) {
            if (!u->tx_waiting) {
                u->tx_waiting = true;
                chr_notify_writable(u->chr, serial_tx_ready, u);
            }
            break;                            /* other errors: the byte is dropped */
        }
        s->tsr_busy = 0;
    }
    if (!s->tsr_busy && s->tx_count == 0)
        s->lsr |= LSR_TEMT;
    serial_update_irq(u);
}

static void serial_tx_ready(void *opaque)
{
    Serial *u = opaque;
    u->tx_waiting = false;
    serial_xmit(u);
}

static void serial_write_thr(Serial *u, uint8_t val)
{
    SerialState *s = &u->s;
    if (s->tx_count < fifo_capacity(s))
        s->tx_fifo[(s->tx_head + s->tx_count++) % UART_FIFO_LEN] = val;
    s->lsr &= ~(LSR_THRE | LSR_TEMT);
    s->thr_ipending = 0;
    serial_xmit(u);
}

/* Sets the modem status inputs, recording deltas (TERI on RI's trailing edge). */
static void serial_set_msr_lines(SerialState *s, uint8_t lines)
{
    uint8_t changed = (s->msr ^ lines) & 0xf0;
    uint8_t delta = 0;
    if (changed & MSR_CTS)
        delta |= MSR_DCTS;
    if (changed & MSR_DSR)
        delta |= MSR_DDSR;
    if ((changed & MSR_RI) && !(lines & MSR_RI))
        delta |= MSR_TERI;
    if (changed & MSR_DCD)
        delta |= MSR_DDCD;
    s->msr = lines | (s->msr & MSR_DELTAS) | delta;
}

/* In loopback the modem outputs drive the inputs: RTS->CTS, DTR->DSR, OUT1->RI,
 * OUT2->DCD (datasheet, MCR bit 4). */
static uint8_t loopback_lines(uint8_t mcr)
{
    return ((mcr & MCR_RTS) ? MSR_CTS : 0) | ((mcr & MCR_DTR) ? MSR_DSR : 0) |
           ((mcr & MCR_OUT1) ? MSR_RI : 0) | ((mcr & MCR_OUT2) ? MSR_DCD : 0);
}

static void serial_write_mcr(Serial *u, uint8_t val)
{
    SerialState *s = &u->s;
    bool was_loop = s->mcr & MCR_LOOP;
    s->mcr = val & 0x1f;
    serial_set_msr_lines(s, (s->mcr & MCR_LOOP) ? loopback_lines(s->mcr) : MSR_IDLE_LINES);
    if (was_loop && !(s->mcr & MCR_LOOP) && u->chr)
        chr_accept_input(u->chr);
    serial_xmit(u);          /* updates the IRQ too */
}

static void serial_write_fcr(Serial *u, uint8_t val)
{
    SerialState *s = &u->s;
    if ((val ^ s->fcr) & FCR_FE)              /* mode change flushes both FIFOs */
        val |= FCR_RFR | FCR_XFR;
    if (val & FCR_RFR) {
        s->lsr &= ~(LSR_DR | LSR_BI | LSR_FIFOE);
        s->rx_count = s->rx_head = 0;
        s->timeout_ipending = 0;
        if (u->fifo_timeout)
            timer_del(u->fifo_timeout);
    }
    if (val & FCR_XFR) {
        s->tx_count = s->tx_head = 0;
        s->lsr |= LSR_THRE;
        s->thr_ipending = 1;
        if (!s->tsr_busy)
            s->lsr |= LSR_TEMT;
    }
    s->fcr = val & (FCR_FE | FCR_DMA | FCR_ITL);
    serial_update_irq(u);
    if ((val & FCR_RFR) && u->chr)
        chr_accept_input(u->chr);
}

/* Enabling ETBEI while THR is empty raises the THRE interrupt even if an IIR read
 * had cleared it: Linux's 8250 driver relies on it (start_tx, the UART_BUG_THRE
 * probe), and 16550A hardware behaves so. */
static void serial_write_ier(Serial *u, uint8_t val)
{
    SerialState *s = &u->s;
    uint8_t changed = (s->ier ^ val) & 0x0f;
    s->ier = val & 0x0f;
    if (changed & IER_THRI)
        s->thr_ipending = (s->ier & IER_THRI) && (s->lsr & LSR_THRE);
    if (changed)
        serial_update_irq(u);
}

/* A THR write may be queued by the accelerator (coalesced, one VM exit saved per
 * character) while nothing but a later register access can observe it: DLAB clear
 * (offset 0 is THR, not the divisor latch), no THRE interrupt, no loopback (the byte
 * would arrive at the receiver). Console output (Linux's 8250 console writes with IER
 * cleared and polls LSR, which exits and so delivers what was queued) takes one exit
 * per character instead of two. */
static void serial_update_coalescing(Serial *u)
{
    SerialState *s = &u->s;
    bool on = !(s->lcr & LCR_DLAB) && !(s->ier & IER_THRI) && !(s->mcr & MCR_LOOP);
    mr_set_coalescing(&u->io, UART_TX, on ? 1 : 0);
}

static void serial_write(void *opaque, uint64_t addr, uint64_t value, unsigned size)
{
    Serial *u = opaque;
    SerialState *s = &u->s;
    uint8_t val = value;
    switch (addr) {
    case UART_TX:
        if (s->lcr & LCR_DLAB)
            s->divider = (s->divider & 0xff00) | val;
        else
            serial_write_thr(u, val);
        break;
    case UART_IER:
        if (s->lcr & LCR_DLAB)
            s->divider = (s->divider & 0x00ff) | (val << 8);
        else
            serial_write_ier(u, val);
        break;
    case UART_FCR:
        serial_write_fcr(u, val);
        break;
    case UART_LCR:
        if ((val & LCR_SBC) && !(s->lcr & LCR_SBC) && (s->mcr & MCR_LOOP))
            serial_receive_break(u);
        s->lcr = val;
        break;
    case UART_MCR:
        serial_write_mcr(u, val);
        break;
    case UART_SCR:
        s->scr = val;
        break;
    default:                 /* LSR and MSR are read-only */
        break;
    }
    if (addr == UART_IER || addr == UART_LCR || addr == UART_MCR)
        serial_update_coalescing(u);
}

static uint8_t serial_read_rbr(Serial *u)
{
    SerialState *s = &u->s;
    uint8_t ret = 0;
    if (s->rx_count) {
        ret = s->rx_fifo[s->rx_head % UART_FIFO_LEN];
        s->rx_head = (s->rx_head + 1) % UART_FIFO_LEN;
        s->rx_count--;
    } else if (!(s->fcr & FCR_FE)) {
        ret = s->rx_fifo[s->rx_head % UART_FIFO_LEN];   /* 16450 mode: RBR keeps its value */
    }
    if (s->rx_count == 0) {
        s->lsr &= ~(LSR_DR | LSR_BI);
        if (!(s->fcr & FCR_FE))
            s->rx_head = 0;
    } else {
        serial_arm_timeout(u);
    }
    s->timeout_ipending = 0;
    serial_update_irq(u);
    if (u->chr && !(s->mcr & MCR_LOOP))
        chr_accept_input(u->chr);
    return ret;
}

static uint64_t serial_read(void *opaque, uint64_t addr, unsigned size)
{
    Serial *u = opaque;
    SerialState *s = &u->s;
    uint8_t ret;
    switch (addr) {
    case UART_RX:
        return (s->lcr & LCR_DLAB) ? (s->divider & 0xff) : serial_read_rbr(u);
    case UART_IER:
        return (s->lcr & LCR_DLAB) ? (s->divider >> 8) : s->ier;
    case UART_IIR:
        ret = s->iir;
        if ((ret & IIR_ID) == IIR_THRI) {     /* reading IIR acknowledges THRE */
            s->thr_ipending = 0;
            serial_update_irq(u);
        }
        return ret;
    case UART_LCR:
        return s->lcr;
    case UART_MCR:
        return s->mcr;
    case UART_LSR:
        ret = s->lsr;
        if (s->lsr & (LSR_INT_ANY | LSR_FIFOE)) {   /* error bits clear on read */
            s->lsr &= ~(LSR_INT_ANY | LSR_FIFOE);
            serial_update_irq(u);
        }
        return ret;
    case UART_MSR:
        ret = s->msr;
        if (s->msr & MSR_DELTAS) {
            s->msr &= ~MSR_DELTAS;
            serial_update_irq(u);
        }
        return ret;
    default:
        return s->scr;
    }
}

static const MemOps serial_ops = {
    .read = serial_read, .write = serial_write, .min_access = 1, .max_access = 1,
};

/* ---- the chardev frontend ---- */

static int serial_can_read(void *opaque)
{
    Serial *u = opaque;
    SerialState *s = &u->s;
    if (s->mcr & MCR_LOOP)
        return 0;                 /* the receiver listens to the transmitter */
    if (!(s->fcr & FCR_FE))
        return !(s->lsr & LSR_DR);
    /* Offer up to the trigger level, so the guest sees the interrupt it asked for;
     * one byte at a time above it. */
    unsigned itl = rx_trigger_level(s);
    if (s->rx_count >= UART_FIFO_LEN)
        return 0;
    return s->rx_count < itl ? itl - s->rx_count : 1;
}

static void serial_chr_read(void *opaque, const uint8_t *buf, size_t len)
{
    serial_receive(opaque, buf, len);
}

static void serial_chr_event(void *opaque, ChrEvent ev)
{
    if (ev == CHR_EVENT_BREAK)
        serial_receive_break(opaque);
}

/* ---- device ---- */

static void serial_reset(Device *dev)
{
    Serial *u = (Serial *)dev;
    SerialState *s = &u->s;
    memset(s, 0, sizeof(*s));
    s->divider = 12;                          /* 9600 baud */
    s->iir = IIR_NO_INT;
    s->lsr = LSR_TEMT | LSR_THRE;
    s->mcr = MCR_OUT2;
    s->msr = MSR_IDLE_LINES;
    if (u->fifo_timeout)
        timer_del(u->fifo_timeout);
    serial_update_irq(u);
    serial_update_coalescing(u);
    if (u->chr)
        chr_accept_input(u->chr);
}

static unsigned serial_count_existing(Machine *m)
{
    unsigned n = 0;
    for (guint i = 0; m->devices && i < m->devices->len; i++)
        if (((Device *)m->devices->pdata[i])->cls == &serial_isa_class)
            n++;
    return n;
}

static bool serial_resolve_config(Serial *u, GError **errp)
{
    Machine *m = u->parent.machine;
    if (u->index == SERIAL_AUTO)
        u->index = serial_count_existing(m);
    if (u->iobase == SERIAL_AUTO)
        u->iobase = serial_isa_default_iobase(u->index);
    if (u->irq == SERIAL_AUTO)
        u->irq = serial_isa_default_irq(u->index);
    if (!u->iobase || u->iobase > 0xfff8 || !u->irq || u->irq >= MACHINE_NUM_GSI) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "isa-serial: index %u has no default port: give iobase= and irq= "
                    "(below %d)", u->index, MACHINE_NUM_GSI);
        return false;
    }
    if (!u->chr && u->chardev && *u->chardev) {
        u->chr = m->chardevs ? chr_registry_find(m->chardevs, u->chardev) : NULL;
        if (!u->chr) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                        "isa-serial: chardev '%s' not found", u->chardev);
            return false;
        }
    }
    return true;
}

static bool serial_realize(Device *dev, GError **errp)
{
    Serial *u = (Serial *)dev;
    Machine *m = dev->machine;
    if (!serial_resolve_config(u, errp))
        return false;
    u->irq_line = &m->gsi[u->irq];
    mr_init_io(&u->io, "serial", 8, &serial_ops, u);
    if (!as_add_region(m->io, &u->io, u->iobase, errp)) {
        g_prefix_error(errp, "isa-serial: ");
        return false;
    }
    u->fifo_timeout = timer_new(m->clock, serial_fifo_timeout, u);
    if (u->chr)
        chr_set_frontend(u->chr, &(ChrFrontend){ .can_read = serial_can_read,
                                                 .read = serial_chr_read,
                                                 .event = serial_chr_event, .opaque = u });
    return true;
}

static void serial_unrealize(Device *dev)
{
    Serial *u = (Serial *)dev;
    if (u->chr) {
        chr_cancel_writable(u->chr, serial_tx_ready, u);
        chr_detach_frontend(u->chr, u);
    }
    timer_free(u->fifo_timeout);
    u->fifo_timeout = NULL;
    as_del_region(dev->machine->io, &u->io);
}

void serial_isa_set_backend(Device *dev, Chardev *chr)
{
    g_assert(dev->cls == &serial_isa_class && !dev->realized);
    ((Serial *)dev)->chr = chr;
}

/* After migration: the IRQ level, the RX timeout and pending output resume. */
static void serial_post_load(Device *dev)
{
    Serial *u = (Serial *)dev;
    if (u->s.rx_count && (u->s.fcr & FCR_FE))
        serial_arm_timeout(u);
    serial_update_coalescing(u);
    serial_xmit(u);
    if (u->chr)
        chr_accept_input(u->chr);
}

static const Property serial_props[] = {
    PROP("iobase", PROP_U32, Serial, iobase, "4294967295",
         "I/O base (default: COM1-4's of index)"),
    PROP("irq", PROP_U32, Serial, irq, "4294967295", "ISA IRQ (default: COM1-4's of index)"),
    PROP("index", PROP_U32, Serial, index, "4294967295", "COM port number (default: next free)"),
    PROP("chardev", PROP_CHARDEV, Serial, chardev, NULL, "ID of the backend chardev"),
    PROP_END,
};

static const VMStateField serial_fields[] = {
    VMS_FIELD(SerialState, divider), VMS_FIELD(SerialState, ier),
    VMS_FIELD(SerialState, iir), VMS_FIELD(SerialState, lcr),
    VMS_FIELD(SerialState, mcr), VMS_FIELD(SerialState, lsr),
    VMS_FIELD(SerialState, msr), VMS_FIELD(SerialState, scr),
    VMS_FIELD(SerialState, fcr), VMS_FIELD(SerialState, thr_ipending),
    VMS_FIELD(SerialState, timeout_ipending), VMS_FIELD(SerialState, tsr),
    VMS_FIELD(SerialState, tsr_busy), VMS_ARRAY(SerialState, rx_fifo),
    VMS_FIELD(SerialState, rx_head), VMS_FIELD(SerialState, rx_count),
    VMS_ARRAY(SerialState, tx_fifo), VMS_FIELD(SerialState, tx_head),
    VMS_FIELD(SerialState, tx_count),
    VMS_END,
};

/* What register writes can produce: FIFO positions inside the FIFOs, the interrupt
 * identification one of the 16550A's codes, flags 0 or 1. */
static bool serial_state_post_load(void *opaque, int version, GError **errp)
{
    const SerialState *s = opaque;
    uint8_t id = s->iir & ~IIR_FIFO;
    if (s->rx_head >= UART_FIFO_LEN || s->rx_count > UART_FIFO_LEN ||
        s->tx_head >= UART_FIFO_LEN || s->tx_count > UART_FIFO_LEN)
        return vmstate_invalid(errp, "serial", "FIFO position out of range (rx %u+%u, "
                               "tx %u+%u)", s->rx_head, s->rx_count, s->tx_head, s->tx_count);
    if (id != IIR_NO_INT && id != IIR_MSI && id != IIR_THRI && id != IIR_RDI &&
        id != IIR_RLSI && id != IIR_CTI)
        return vmstate_invalid(errp, "serial", "IIR %#x", s->iir);
    if (s->thr_ipending > 1 || s->timeout_ipending > 1 || s->tsr_busy > 1 ||
        (s->ier & 0xf0) || (s->mcr & 0xe0))
        return vmstate_invalid(errp, "serial", "IER %#x, MCR %#x or a flag out of range",
                               s->ier, s->mcr);
    return true;
}

static const VMStateDesc serial_vmsd = {
    .name = "serial", .version = 1, .min_version = 1, .fields = serial_fields,
    .post_load = serial_state_post_load,
};

const DeviceClass serial_isa_class = {
    .name = "isa-serial",
    .desc = "16550A UART",
    .bus = BUS_ISA,
    .instance_size = sizeof(Serial),
    .props = serial_props,
    .user_creatable = true,
    .realize = serial_realize,
    .reset = serial_reset,
    .unrealize = serial_unrealize,
    .vmsd = &serial_vmsd,
    .state_offset = offsetof(Serial, s),
    .post_load = serial_post_load,
};
