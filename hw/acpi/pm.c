/*
 * ACPI fixed hardware of the pc board (ACPI 6.3, 4.8): the PM1a event block (status
 * and enable, 4.8.3.1), the PM1a control block (4.8.3.2) and the 24-bit PM timer
 * (4.8.3.3) at ports 0x600..0x60b, with the SCI on GSI 9 (level, active high).
 * SMI_CMD is 0 in the FADT, so the platform is always in ACPI mode: SCI_EN reads 1.
 */
#include "vireo/acpi.h"
#include "vireo/log.h"
#include "vireo/machine.h"

#define PM_STS_OFF      0
#define PM_EN_OFF       2
#define PM_CNT_OFF      4
#define PM_TMR_OFF      8
#define PM_TMR_BITS     24
#define PM_TMR_STS_BIT  23      /* TMR_STS is set when bit 23 of the counter toggles */
#define NS_PER_SEC      1000000000ull

#define PM1_STS_W1C     (ACPI_PM1_TMR_STS | ACPI_PM1_BM_STS | ACPI_PM1_GBL_STS | \
                         ACPI_PM1_PWRBTN_STS | ACPI_PM1_SLPBTN_STS | ACPI_PM1_RTC_STS | \
                         (1u << 14) | ACPI_PM1_WAK_STS)
#define PM1_EN_RW       (ACPI_PM1_TMR_STS | ACPI_PM1_GBL_STS | ACPI_PM1_PWRBTN_STS | \
                         ACPI_PM1_SLPBTN_STS | ACPI_PM1_RTC_STS | (1u << 14))
#define PM1_SCI_EVENTS  (ACPI_PM1_TMR_STS | ACPI_PM1_GBL_STS | ACPI_PM1_PWRBTN_STS | \
                         ACPI_PM1_SLPBTN_STS | ACPI_PM1_RTC_STS)
#define PM1_CNT_RW      ((1u << 1) | ACPI_PM1_SLP_TYP_MASK)     /* BM_RLD, SLP_TYP */

typedef struct AcpiPmState {
    uint16_t sts;           /* latched status bits except TMR_STS */
    uint16_t en;
    uint16_t cnt;
    uint64_t tmr_ack;       /* counter >> 23 when TMR_STS was last cleared */
} AcpiPmState;

typedef struct AcpiPm {
    Device dev;
    MemRegion mr;
    Timer *tmr_timer;       /* raises the SCI at the next bit-23 toggle while TMR_EN */
    bool sci_level;
    bool gpe_sci;           /* the GPE0 block's share of the SCI (PIIX4_PM, pcihp.c) */
    void (*shutdown_hook)(void *opaque, ShutdownCause c);
    void *shutdown_opaque;
    LogBudget log;          /* guest-triggered messages */
    AcpiPmState state;
} AcpiPm;

/* PM timer ticks since the clock's origin: 3.579545 MHz. */
static uint64_t pm_ticks(AcpiPm *s)
{
    int64_t ns = clock_ns(s->dev.machine->clock);

    return ns <= 0 ? 0 : (uint64_t)((unsigned __int128)ns * ACPI_PM_TIMER_HZ / NS_PER_SEC);
}

static uint16_t pm_sts(AcpiPm *s)
{
    bool toggled = (pm_ticks(s) >> PM_TMR_STS_BIT) != s->state.tmr_ack;

    return s->state.sts | (toggled ? ACPI_PM1_TMR_STS : 0);
}

/* Arms the timer for the next TMR_STS edge while it could raise the SCI. */
static void pm_arm_timer(AcpiPm *s)
{
    uint64_t tick, ns;

    if (!(s->state.en & ACPI_PM1_TMR_STS) || (pm_sts(s) & ACPI_PM1_TMR_STS)) {
        timer_del(s->tmr_timer);
        return;
    }
    tick = (s->state.tmr_ack + 1) << PM_TMR_STS_BIT;
    ns = (uint64_t)(((unsigned __int128)tick * NS_PER_SEC + ACPI_PM_TIMER_HZ - 1) /
                    ACPI_PM_TIMER_HZ);
    timer_mod(s->tmr_timer, (int64_t)ns);
}

static void pm_update_sci(AcpiPm *s)
{
    bool level = (pm_sts(s) & s->state.en & PM1_SCI_EVENTS) != 0 || s->gpe_sci;

    if (level != s->sci_level) {
        s->sci_level = level;
        irq_set(&s->dev.machine->gsi[ACPI_SCI_IRQ], level);
    }
    pm_arm_timer(s);
}

static void pm_timer_cb(void *opaque)
{
    pm_update_sci(opaque);
}

/* SLP_EN (4.8.3.2.1, 7.4.2): only S5 (SLP_TYP 0, per \_S5) exists on this board. */
static void pm_sleep(AcpiPm *s, unsigned typ)
{
    if (typ != ACPI_SLP_TYP_S5) {
        log_budget_warn(&s->log, "acpi-pm: guest asked for unsupported sleep type %u, "
                        "ignored", typ);
        return;
    }
    if (s->shutdown_hook)
        s->shutdown_hook(s->shutdown_opaque, SHUTDOWN_CAUSE_GUEST_SHUTDOWN);
    else
        vm_request_shutdown(DEVICE(s)->machine, SHUTDOWN_CAUSE_GUEST_SHUTDOWN);
}

/* The 12 bytes of the block as the guest sees them, little-endian. */
static void pm_image(AcpiPm *s, uint8_t img[ACPI_PM_IO_SIZE])
{
    uint16_t sts = pm_sts(s), cnt = s->state.cnt | ACPI_PM1_SCI_EN;
    uint32_t tmr = pm_ticks(s) & ((1u << PM_TMR_BITS) - 1);

    img[PM_STS_OFF] = sts;
    img[PM_STS_OFF + 1] = sts >> 8;
    img[PM_EN_OFF] = s->state.en;
    img[PM_EN_OFF + 1] = s->state.en >> 8;
    img[PM_CNT_OFF] = cnt;
    img[PM_CNT_OFF + 1] = cnt >> 8;
    img[6] = img[7] = 0;
    for (int i = 0; i < 4; i++)
        img[PM_TMR_OFF + i] = tmr >> (8 * i);
}

static uint64_t pm_read(void *opaque, uint64_t off, unsigned size)
{
    uint8_t img[ACPI_PM_IO_SIZE];
    uint64_t val = 0;

    pm_image(opaque, img);      /* one timer sample per access */
    for (unsigned i = 0; i < size && off + i < ACPI_PM_IO_SIZE; i++)
        val |= (uint64_t)img[off + i] << (8 * i);
    return val;
}

static void pm_write_byte(AcpiPm *s, unsigned off, uint8_t v, bool *sleep)
{
    unsigned sh = (off & 1) * 8;

    switch (off & ~1u) {
    case PM_STS_OFF:
        if ((v << sh) & ACPI_PM1_TMR_STS)
            s->state.tmr_ack = pm_ticks(s) >> PM_TMR_STS_BIT;
        s->state.sts &= ~((v << sh) & PM1_STS_W1C);
        break;
    case PM_EN_OFF:
        s->state.en = (s->state.en & ~(0xff << sh)) | ((v << sh) & PM1_EN_RW);
        break;
    case PM_CNT_OFF:
        s->state.cnt = (s->state.cnt & ~(0xff << sh)) | ((v << sh) & PM1_CNT_RW);
        *sleep |= ((v << sh) & ACPI_PM1_SLP_EN) != 0;
        break;
    default:                    /* the timer is read-only */
        break;
    }
}

static void pm_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    AcpiPm *s = opaque;
    bool sleep = false;

    for (unsigned i = 0; i < size && off + i < ACPI_PM_IO_SIZE; i++)
        pm_write_byte(s, off + i, val >> (8 * i), &sleep);
    pm_update_sci(s);
    if (sleep)
        pm_sleep(s, (s->state.cnt & ACPI_PM1_SLP_TYP_MASK) >> ACPI_PM1_SLP_TYP_SHIFT);
}

static const MemOps pm_ops = {
    .read = pm_read,
    .write = pm_write,
    .min_access = 1,
    .max_access = 4,
    .aligned = false,
};

void acpi_pm_power_button(Device *dev)
{
    AcpiPm *s = (AcpiPm *)dev;

    s->state.sts |= ACPI_PM1_PWRBTN_STS;
    pm_update_sci(s);
}

/* The SCI is shared (ACPI 6.3, 4.8.2.1): PM1 events or-ed with the GPE block's. */
void acpi_pm_set_gpe_sci(Device *dev, bool level)
{
    AcpiPm *s = (AcpiPm *)dev;

    s->gpe_sci = level;
    pm_update_sci(s);
}

void acpi_pm_set_shutdown_hook(Device *dev, void (*fn)(void *opaque, ShutdownCause c),
                               void *opaque)
{
    AcpiPm *s = (AcpiPm *)dev;

    s->shutdown_hook = fn;
    s->shutdown_opaque = opaque;
}

static bool pm_realize(Device *dev, GError **errp)
{
    AcpiPm *s = (AcpiPm *)dev;
    Machine *m = dev->machine;

    s->log = (LogBudget)LOG_BUDGET_DEFAULT;
    mr_init_io(&s->mr, "acpi-pm", ACPI_PM_IO_SIZE, &pm_ops, s);
    if (!as_add_region(m->io, &s->mr, ACPI_PM_BASE, errp))
        return false;
    s->tmr_timer = timer_new(m->clock, pm_timer_cb, s);
    return true;
}

static void pm_reset(Device *dev)
{
    AcpiPm *s = (AcpiPm *)dev;

    s->state.sts = 0;
    s->state.en = 0;
    s->state.cnt = 0;
    s->state.tmr_ack = pm_ticks(s) >> PM_TMR_STS_BIT;
    pm_update_sci(s);
}

static void pm_unrealize(Device *dev)
{
    AcpiPm *s = (AcpiPm *)dev;

    if (s->sci_level)
        irq_lower(&dev->machine->gsi[ACPI_SCI_IRQ]);
    as_del_region(dev->machine->io, &s->mr);
    timer_free(s->tmr_timer);
    s->tmr_timer = NULL;
}

Device *acpi_pm_create(Machine *m, GError **errp)
{
    Device *dev = device_new(m, &acpi_pm_class);

    return machine_add_device(m, dev, errp) ? dev : NULL;
}

static const VMStateField pm_fields[] = {
    VMS_FIELD(AcpiPmState, sts),
    VMS_FIELD(AcpiPmState, en),
    VMS_FIELD(AcpiPmState, cnt),
    VMS_FIELD(AcpiPmState, tmr_ack),
    VMS_END
};

/* Only the bits a guest (or the power button) can set. */
static bool pm_state_post_load(void *opaque, int version, GError **errp)
{
    const AcpiPmState *st = opaque;
    if ((st->sts & ~(PM1_STS_W1C & ~ACPI_PM1_TMR_STS)) || (st->en & ~PM1_EN_RW) ||
        (st->cnt & ~PM1_CNT_RW))
        return vmstate_invalid(errp, "acpi-pm", "PM1 status %#x, enable %#x or control "
                               "%#x has bits a guest cannot set", st->sts, st->en, st->cnt);
    return true;
}

/* After a load: the SCI level and the timer follow the loaded registers. */
static void pm_post_load(Device *dev)
{
    pm_update_sci((AcpiPm *)dev);
}

static const VMStateDesc pm_vmsd = {
    .name = "acpi-pm",
    .version = 1,
    .min_version = 1,
    .fields = pm_fields,
    .post_load = pm_state_post_load,
};

const DeviceClass acpi_pm_class = {
    .name = "acpi-pm",
    .desc = "ACPI PM1 event/control blocks and PM timer (pc board)",
    .bus = BUS_SYS,
    .instance_size = sizeof(AcpiPm),
    .user_creatable = false,
    .realize = pm_realize,
    .reset = pm_reset,
    .unrealize = pm_unrealize,
    .vmsd = &pm_vmsd,
    .state_offset = offsetof(AcpiPm, state),
    .post_load = pm_post_load,
};
