/*
 * "mc146818rtc": the PC's CMOS RTC and 128-byte NVRAM (Motorola MC146818A datasheet;
 * register names as in Linux's include/linux/mc146818rtc.h).
 *
 * Time of day is the host wall clock (clock_wall_ns of the machine clock) plus an
 * offset the guest changes by setting the clock, so it survives migration between
 * hosts with synchronised clocks. Flags are evaluated lazily (register C reads) and
 * by timers only while an interrupt that needs them is enabled: one timer at each
 * second boundary for update-ended/alarm, one for the periodic rate.
 * Not modelled: the divider-chain reset delay (DV bits are stored only), daylight
 * saving (DSE), the square-wave output, PF without PIE.
 */
#include "vireo/hw-isa.h"
#include "vireo/machine.h"
#include "vireo/runstate.h"
#include <string.h>

#define RTC_SECONDS       0x00
#define RTC_SECONDS_ALARM 0x01
#define RTC_MINUTES       0x02
#define RTC_MINUTES_ALARM 0x03
#define RTC_HOURS         0x04
#define RTC_HOURS_ALARM   0x05
#define RTC_DAY_OF_WEEK   0x06
#define RTC_DAY_OF_MONTH  0x07
#define RTC_MONTH         0x08
#define RTC_YEAR          0x09
#define RTC_REG_A         0x0a
#define RTC_REG_B         0x0b
#define RTC_REG_C         0x0c
#define RTC_REG_D         0x0d
#define RTC_CENTURY       0x32   /* the FADT CENTURY field points here, as in QEMU */

#define REG_A_UIP   0x80
#define REG_A_RS    0x0f
#define REG_B_SET   0x80
#define REG_B_PIE   0x40
#define REG_B_AIE   0x20
#define REG_B_UIE   0x10
#define REG_B_SQWE  0x08
#define REG_B_DM    0x04   /* binary (else BCD) */
#define REG_B_24H   0x02
#define REG_C_IRQF  0x80
#define REG_C_PF    0x40
#define REG_C_AF    0x20
#define REG_C_UF    0x10
#define REG_D_VRT   0x80

#define NS_PER_SEC  1000000000LL
#define UIP_NS      244000LL   /* UIP is set this long before each update */
/* Guest-settable range (about 1843-2223) keeps every time in int64 nanoseconds. */
#define RTC_MIN_SECS (-4000000000LL)
#define RTC_MAX_SECS 8000000000LL
#define ALARM_DONT_CARE(v) (((v) & 0xc0) == 0xc0)

typedef struct RtcState {
    uint8_t cmos[128];
    uint8_t index;
    uint8_t nmi_disabled;
    int64_t offset_ns;        /* guest RTC time = host wall time + offset */
    int64_t last_update_sec;  /* guest second up to which UF/AF are evaluated */
} RtcState;

typedef struct Rtc {
    Device parent;
    uint16_t iobase;
    uint8_t irq;
    bool localtime;
    int64_t base_epoch;       /* -rtc base=DATE: seconds since the epoch; 0: now */
    RtcState s;
    const IrqLine *irq_line;
    MemRegion io;
    Timer *update_timer, *periodic_timer;
    int64_t next_periodic;    /* clock_ns of the next periodic flag */
} Rtc;

/* ---- calendar arithmetic (proleptic Gregorian, days since 1970-01-01) ---- */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

typedef struct RtcTime {
    int64_t year;
    unsigned mon, mday, wday, hour, min, sec;   /* wday: 0 = Sunday */
} RtcTime;

static void civil_from_secs(int64_t t, RtcTime *tm)
{
    int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
    int64_t rem = t - days * 86400;
    tm->hour = rem / 3600;
    tm->min = rem / 60 % 60;
    tm->sec = rem % 60;
    tm->wday = (unsigned)(((days % 7) + 11) % 7);   /* 1970-01-01 was a Thursday */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    tm->mday = doy - (153 * mp + 2) / 5 + 1;
    tm->mon = mp < 10 ? mp + 3 : mp - 9;
    tm->year = (int64_t)yoe + era * 400 + (tm->mon <= 2);
}

/* ---- register encoding (BCD or binary per DM, 12/24 h per register B) ---- */

static uint8_t rtc_enc(const RtcState *s, unsigned v)
{
    return (s->cmos[RTC_REG_B] & REG_B_DM) ? v : ((v / 10) << 4) | (v % 10);
}

static unsigned rtc_dec(const RtcState *s, uint8_t v)
{
    return (s->cmos[RTC_REG_B] & REG_B_DM) ? v : (v >> 4) * 10 + (v & 0x0f);
}

static uint8_t rtc_enc_hour(const RtcState *s, unsigned h)
{
    if (s->cmos[RTC_REG_B] & REG_B_24H)
        return rtc_enc(s, h);
    return rtc_enc(s, h % 12 ? h % 12 : 12) | (h >= 12 ? 0x80 : 0);
}

static unsigned rtc_dec_hour(const RtcState *s, uint8_t v)
{
    if (s->cmos[RTC_REG_B] & REG_B_24H)
        return rtc_dec(s, v);
    return rtc_dec(s, v & 0x7f) % 12 + ((v & 0x80) ? 12 : 0);
}

/* ---- time ---- */

/* The offset is clamped so that the time stays in the settable range whatever a
 * migration stream loaded (and the sum cannot overflow). */
static int64_t rtc_guest_ns(Rtc *r)
{
    int64_t wall = clock_wall_ns(r->parent.machine->clock);
    return wall + CLAMP(r->s.offset_ns, RTC_MIN_SECS * NS_PER_SEC - wall,
                        RTC_MAX_SECS * NS_PER_SEC - wall);
}

static int64_t rtc_guest_sec(Rtc *r)
{
    int64_t ns = rtc_guest_ns(r);
    return ns >= 0 ? ns / NS_PER_SEC : (ns - NS_PER_SEC + 1) / NS_PER_SEC;
}

/* Writes the current time into the clock registers. */
static void rtc_refresh_regs(Rtc *r)
{
    RtcState *s = &r->s;
    RtcTime tm;
    civil_from_secs(rtc_guest_sec(r), &tm);
    s->cmos[RTC_SECONDS] = rtc_enc(s, tm.sec);
    s->cmos[RTC_MINUTES] = rtc_enc(s, tm.min);
    s->cmos[RTC_HOURS] = rtc_enc_hour(s, tm.hour);
    s->cmos[RTC_DAY_OF_WEEK] = rtc_enc(s, tm.wday + 1);
    s->cmos[RTC_DAY_OF_MONTH] = rtc_enc(s, tm.mday);
    s->cmos[RTC_MONTH] = rtc_enc(s, tm.mon);
    s->cmos[RTC_YEAR] = rtc_enc(s, (unsigned)(tm.year % 100));
    s->cmos[RTC_CENTURY] = rtc_enc(s, (unsigned)(tm.year / 100 % 100));
}

/* Takes the guest's clock registers as the time now (sub-second 0), as when SET is
 * cleared. Nonsense values (the guest can write anything) are clamped, never trusted
 * as array indexes. */
static void rtc_set_from_regs(Rtc *r)
{
    RtcState *s = &r->s;
    int64_t year = rtc_dec(s, s->cmos[RTC_CENTURY]) * 100 + rtc_dec(s, s->cmos[RTC_YEAR]);
    unsigned mon = CLAMP(rtc_dec(s, s->cmos[RTC_MONTH]), 1, 12);
    unsigned mday = CLAMP(rtc_dec(s, s->cmos[RTC_DAY_OF_MONTH]), 1, 31);
    int64_t t = days_from_civil(year, mon, mday) * 86400 +
                rtc_dec_hour(s, s->cmos[RTC_HOURS]) * 3600 +
                rtc_dec(s, s->cmos[RTC_MINUTES]) * 60 + rtc_dec(s, s->cmos[RTC_SECONDS]);
    t = CLAMP(t, RTC_MIN_SECS, RTC_MAX_SECS);
    s->offset_ns = t * NS_PER_SEC - clock_wall_ns(r->parent.machine->clock);
    s->last_update_sec = t;
}

static bool rtc_alarm_matches(Rtc *r, int64_t t)
{
    RtcState *s = &r->s;
    RtcTime tm;
    civil_from_secs(t, &tm);
    uint8_t as = s->cmos[RTC_SECONDS_ALARM], am = s->cmos[RTC_MINUTES_ALARM];
    uint8_t ah = s->cmos[RTC_HOURS_ALARM];
    return (ALARM_DONT_CARE(as) || as == rtc_enc(s, tm.sec)) &&
           (ALARM_DONT_CARE(am) || am == rtc_enc(s, tm.min)) &&
           (ALARM_DONT_CARE(ah) || ah == rtc_enc_hour(s, tm.hour));
}

/* IRQF follows the enabled flags; the line is raised with it and lowered by the
 * register C read that clears it. */
static void rtc_update_irq(Rtc *r)
{
    RtcState *s = &r->s;
    if (s->cmos[RTC_REG_C] & s->cmos[RTC_REG_B] & (REG_C_PF | REG_C_AF | REG_C_UF)) {
        if (!(s->cmos[RTC_REG_C] & REG_C_IRQF)) {
            s->cmos[RTC_REG_C] |= REG_C_IRQF;
            irq_raise(r->irq_line);
        }
    }
}

/* Sets UF (and AF on an alarm match) for the updates since the last evaluation.
 * At most one day is scanned: the alarm repeats daily at the latest. */
static void rtc_catch_up(Rtc *r)
{
    RtcState *s = &r->s;
    int64_t now = rtc_guest_sec(r);
    if ((s->cmos[RTC_REG_B] & REG_B_SET) || now <= s->last_update_sec) {
        s->last_update_sec = now;
        return;
    }
    s->cmos[RTC_REG_C] |= REG_C_UF;
    for (int64_t t = MAX(s->last_update_sec + 1, now - 86399); t <= now; t++) {
        if (rtc_alarm_matches(r, t)) {
            s->cmos[RTC_REG_C] |= REG_C_AF;
            break;
        }
    }
    s->last_update_sec = now;
    rtc_update_irq(r);
}

/* Arms the update timer for the next second boundary while UIE or AIE needs it. */
static void rtc_arm_update(Rtc *r)
{
    RtcState *s = &r->s;
    if (!(s->cmos[RTC_REG_B] & (REG_B_UIE | REG_B_AIE)) ||
        (s->cmos[RTC_REG_B] & REG_B_SET)) {
        timer_del(r->update_timer);
        return;
    }
    int64_t ns = rtc_guest_ns(r);
    int64_t into = ((ns % NS_PER_SEC) + NS_PER_SEC) % NS_PER_SEC;
    timer_mod(r->update_timer, clock_ns(r->parent.machine->clock) + NS_PER_SEC - into);
}

static void rtc_update_timer_cb(void *opaque)
{
    Rtc *r = opaque;
    rtc_catch_up(r);
    rtc_arm_update(r);
}

/* Periodic rate (datasheet table 5): RS 1-2 behave as 8-9; period 2^(RS-1) ticks of
 * the 32768 Hz time base. */
static int64_t rtc_period_ns(const RtcState *s)
{
    unsigned rs = s->cmos[RTC_REG_A] & REG_A_RS;
    if (rs == 0)
        return 0;
    if (rs <= 2)
        rs += 7;
    return ((int64_t)1 << (rs - 1)) * NS_PER_SEC / 32768;
}

static void rtc_arm_periodic(Rtc *r, bool restart)
{
    int64_t period = rtc_period_ns(&r->s);
    int64_t now = clock_ns(r->parent.machine->clock);
    if (!period || !(r->s.cmos[RTC_REG_B] & REG_B_PIE)) {
        timer_del(r->periodic_timer);
        return;
    }
    if (restart || !timer_pending(r->periodic_timer) || r->next_periodic <= now)
        r->next_periodic = now + period;
    timer_mod(r->periodic_timer, r->next_periodic);
}

static void rtc_periodic_cb(void *opaque)
{
    Rtc *r = opaque;
    int64_t period = rtc_period_ns(&r->s), now = clock_ns(r->parent.machine->clock);
    r->s.cmos[RTC_REG_C] |= REG_C_PF;
    rtc_update_irq(r);
    if (!period)
        return;
    r->next_periodic += period;
    if (r->next_periodic <= now)          /* missed ticks coalesce into one */
        r->next_periodic = now + period;
    timer_mod(r->periodic_timer, r->next_periodic);
}

/* ---- registers ---- */

static bool rtc_is_clock_reg(unsigned i)
{
    return i == RTC_SECONDS || i == RTC_MINUTES || i == RTC_HOURS ||
           (i >= RTC_DAY_OF_WEEK && i <= RTC_YEAR) || i == RTC_CENTURY;
}

static void rtc_write_reg_b(Rtc *r, uint8_t val)
{
    RtcState *s = &r->s;
    uint8_t old = s->cmos[RTC_REG_B];
    rtc_catch_up(r);
    if (val & REG_B_SET) {
        if (!(old & REG_B_SET))
            rtc_refresh_regs(r);          /* freeze the registers at the time now */
        val &= ~REG_B_UIE;                /* datasheet: SET clears UIE */
    }
    s->cmos[RTC_REG_B] = val;
    if ((old & REG_B_SET) && !(val & REG_B_SET))
        rtc_set_from_regs(r);
    rtc_update_irq(r);                    /* enabling an interrupt with its flag set */
    rtc_arm_update(r);
    rtc_arm_periodic(r, false);
}

static void rtc_write_data(Rtc *r, uint8_t val)
{
    RtcState *s = &r->s;
    unsigned i = s->index & 0x7f;
    if (rtc_is_clock_reg(i) && !(s->cmos[RTC_REG_B] & REG_B_SET)) {
        rtc_refresh_regs(r);              /* a running clock takes the write at once */
        s->cmos[i] = val;
        rtc_set_from_regs(r);
        rtc_arm_update(r);
        return;
    }
    switch (i) {
    case RTC_REG_A:
        s->cmos[i] = val & ~REG_A_UIP;
        rtc_arm_periodic(r, true);
        break;
    case RTC_REG_B:
        rtc_write_reg_b(r, val);
        break;
    case RTC_REG_C:
    case RTC_REG_D:
        break;                            /* read-only */
    default:
        s->cmos[i] = val;
    }
}

static uint8_t rtc_read_data(Rtc *r)
{
    RtcState *s = &r->s;
    unsigned i = s->index & 0x7f;
    uint8_t ret;
    if (rtc_is_clock_reg(i) && !(s->cmos[RTC_REG_B] & REG_B_SET))
        rtc_refresh_regs(r);
    switch (i) {
    case RTC_REG_A: {
        int64_t ns = rtc_guest_ns(r);
        int64_t into = ((ns % NS_PER_SEC) + NS_PER_SEC) % NS_PER_SEC;
        bool uip = !(s->cmos[RTC_REG_B] & REG_B_SET) && into >= NS_PER_SEC - UIP_NS;
        return (s->cmos[RTC_REG_A] & ~REG_A_UIP) | (uip ? REG_A_UIP : 0);
    }
    case RTC_REG_C:
        rtc_catch_up(r);
        ret = s->cmos[RTC_REG_C];
        s->cmos[RTC_REG_C] = 0;
        if (ret & REG_C_IRQF)
            irq_lower(r->irq_line);
        return ret;
    case RTC_REG_D:
        return REG_D_VRT;
    default:
        return s->cmos[i];
    }
}

static uint64_t rtc_io_read(void *opaque, uint64_t addr, unsigned size)
{
    return addr == 0 ? 0xff : rtc_read_data(opaque);
}

static void rtc_io_write(void *opaque, uint64_t addr, uint64_t val, unsigned size)
{
    Rtc *r = opaque;
    if (addr == 0) {
        r->s.index = val & 0x7f;
        r->s.nmi_disabled = !!(val & 0x80);   /* bit 7 of port 0x70: NMI mask */
    } else {
        rtc_write_data(r, val);
    }
}

static const MemOps rtc_ops = {
    .read = rtc_io_read, .write = rtc_io_write, .min_access = 1, .max_access = 1,
};

/* ---- NVRAM for firmware ---- */

uint8_t rtc_cmos_get(Device *dev, unsigned addr)
{
    return ((Rtc *)dev)->s.cmos[addr & 0x7f];
}

static void rtc_cmos_checksum(RtcState *s)
{
    unsigned sum = 0;
    for (unsigned i = 0x10; i <= 0x2d; i++)
        sum += s->cmos[i];
    s->cmos[0x2e] = sum >> 8;
    s->cmos[0x2f] = sum;
}

void rtc_cmos_set(Device *dev, unsigned addr, uint8_t val)
{
    RtcState *s = &((Rtc *)dev)->s;
    s->cmos[addr & 0x7f] = val;
    if ((addr & 0x7f) >= 0x10 && (addr & 0x7f) <= 0x2d)
        rtc_cmos_checksum(s);
}

bool rtc_cmos_set_boot_order(Device *dev, const char *order)
{
    static const char devs[] = "acdn";      /* 1 floppy, 2 disk, 3 cdrom, 4 network */
    uint8_t b[3] = { 0 };
    size_t n = strlen(order);
    if (n > 3)
        return false;
    for (size_t i = 0; i < n; i++) {
        const char *p = strchr(devs, order[i]);
        if (!p || !order[i])
            return false;
        b[i] = (uint8_t)(p - devs) + 1;
    }
    rtc_cmos_set(dev, 0x3d, (b[1] << 4) | b[0]);
    rtc_cmos_set(dev, 0x38, b[2] << 4);      /* bit 0 clear: floppy boot signature check */
    return true;
}

static void rtc_cmos_set16(Device *dev, unsigned addr, uint64_t val)
{
    val = MIN(val, 0xffff);
    rtc_cmos_set(dev, addr, val);
    rtc_cmos_set(dev, addr + 1, val >> 8);
}

void rtc_cmos_set_machine_info(Device *dev, Machine *m)
{
    const uint64_t KiB = 1024, MiB = 1024 * 1024;
    uint64_t lo = m->below_4g;
    rtc_cmos_set16(dev, 0x15, MIN(lo / KiB, 640));                     /* base memory */
    rtc_cmos_set16(dev, 0x17, lo > MiB ? (lo - MiB) / KiB : 0);        /* extended */
    rtc_cmos_set16(dev, 0x30, lo > MiB ? (lo - MiB) / KiB : 0);
    rtc_cmos_set16(dev, 0x34, lo > 16 * MiB ? (lo - 16 * MiB) / (64 * KiB) : 0);
    uint64_t hi = m->above_4g / (64 * KiB);
    rtc_cmos_set(dev, 0x5b, hi);
    rtc_cmos_set(dev, 0x5c, hi >> 8);
    rtc_cmos_set(dev, 0x5d, hi >> 16);
    unsigned cpus = m->ncpus ? m->ncpus : m->opts.smp_cpus;
    rtc_cmos_set(dev, 0x5f, cpus ? cpus - 1 : 0);
    /* equipment: no floppy, FPU present (bit 1), PS/2 mouse (bit 2), VGA (bits 5:4 = 0) */
    rtc_cmos_set(dev, 0x14, 0x06);
    rtc_cmos_set_boot_order(dev, "cad");
    rtc_cmos_checksum(&((Rtc *)dev)->s);
}

bool rtc_nmi_disabled(Device *dev)
{
    return ((Rtc *)dev)->s.nmi_disabled;
}

/* ---- device ---- */

/* The RESET pin clears PIE, AIE, UIE, SQWE and the flags (datasheet "RESET");
 * time and NVRAM are kept. */
static void rtc_reset(Device *dev)
{
    Rtc *r = (Rtc *)dev;
    RtcState *s = &r->s;
    s->cmos[RTC_REG_B] &= ~(REG_B_PIE | REG_B_AIE | REG_B_UIE | REG_B_SQWE);
    s->cmos[RTC_REG_C] = 0;
    irq_lower(r->irq_line);
    rtc_arm_update(r);
    rtc_arm_periodic(r, true);
}

/* Power-on contents: 32 kHz time base with 1024 Hz rate selected, 24-hour BCD. */
static void rtc_power_on(Rtc *r)
{
    RtcState *s = &r->s;
    memset(s, 0, sizeof(*s));
    s->cmos[RTC_REG_A] = 0x26;
    s->cmos[RTC_REG_B] = REG_B_24H;
    s->cmos[RTC_REG_D] = REG_D_VRT;
    if (r->base_epoch) {
        s->offset_ns = r->base_epoch * NS_PER_SEC - clock_wall_ns(r->parent.machine->clock);
    } else if (r->localtime) {
        g_autoptr(GDateTime) now = g_date_time_new_now_local();
        s->offset_ns = g_date_time_get_utc_offset(now) * 1000;
    }
    s->last_update_sec = rtc_guest_sec(r);
    rtc_refresh_regs(r);
}

static bool rtc_realize(Device *dev, GError **errp)
{
    Rtc *r = (Rtc *)dev;
    Machine *m = dev->machine;
    if (r->irq >= MACHINE_NUM_GSI) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "mc146818rtc: irq %u is not below %d", r->irq, MACHINE_NUM_GSI);
        return false;
    }
    r->irq_line = &m->gsi[r->irq];
    mr_init_io(&r->io, "rtc", 2, &rtc_ops, r);
    if (!as_add_region(m->io, &r->io, r->iobase, errp)) {
        g_prefix_error(errp, "mc146818rtc: ");
        return false;
    }
    r->update_timer = timer_new(m->clock, rtc_update_timer_cb, r);
    r->periodic_timer = timer_new(m->clock, rtc_periodic_cb, r);
    rtc_power_on(r);
    return true;
}

static void rtc_unrealize(Device *dev)
{
    Rtc *r = (Rtc *)dev;
    timer_free(r->update_timer);
    timer_free(r->periodic_timer);
    as_del_region(dev->machine->io, &r->io);
}

/* After migration: timers restart from the loaded enables; IRQF drives the line. */
static void rtc_post_load(Device *dev)
{
    Rtc *r = (Rtc *)dev;
    irq_set(r->irq_line, !!(r->s.cmos[RTC_REG_C] & REG_C_IRQF));
    rtc_arm_update(r);
    rtc_arm_periodic(r, true);
}

static const Property rtc_props[] = {
    PROP("iobase", PROP_U16, Rtc, iobase, "0x70", "I/O base (index, data)"),
    PROP("irq", PROP_U8, Rtc, irq, "8", "ISA IRQ"),
    PROP("x-localtime", PROP_BOOL, Rtc, localtime, "off",
         "start at local time, not UTC (the board's, from -rtc base=)"),
    PROP("x-base-epoch", PROP_I64, Rtc, base_epoch, NULL,
         "start at this time (seconds since 1970, UTC; -rtc base=DATE); 0: now"),
    PROP_END,
};

static const VMStateField rtc_fields[] = {
    VMS_ARRAY(RtcState, cmos), VMS_FIELD(RtcState, index),
    VMS_FIELD(RtcState, nmi_disabled), VMS_FIELD(RtcState, offset_ns),
    VMS_FIELD(RtcState, last_update_sec),
    VMS_END,
};

/* As port 0x70 writes: a 7-bit index; REG_C and REG_D hold only their defined bits. */
static bool rtc_state_post_load(void *opaque, int version, GError **errp)
{
    const RtcState *s = opaque;
    if (s->index > 0x7f || s->nmi_disabled > 1)
        return vmstate_invalid(errp, "mc146818rtc", "index %#x, NMI mask %u", s->index,
                               s->nmi_disabled);
    if ((s->cmos[RTC_REG_C] & 0x0f) || (s->cmos[RTC_REG_D] & 0x7f))
        return vmstate_invalid(errp, "mc146818rtc", "register C %#x / D %#x",
                               s->cmos[RTC_REG_C], s->cmos[RTC_REG_D]);
    if (s->last_update_sec < RTC_MIN_SECS || s->last_update_sec > RTC_MAX_SECS)
        return vmstate_invalid(errp, "mc146818rtc", "update second %lld out of range",
                               (long long)s->last_update_sec);
    return true;
}

static const VMStateDesc rtc_vmsd = {
    .name = "mc146818rtc", .version = 1, .min_version = 1, .fields = rtc_fields,
    .post_load = rtc_state_post_load,
};

const DeviceClass rtc_mc146818_class = {
    .name = "mc146818rtc",
    .desc = "MC146818 CMOS RTC and NVRAM",
    .bus = BUS_ISA,
    .instance_size = sizeof(Rtc),
    .props = rtc_props,
    .realize = rtc_realize,
    .reset = rtc_reset,
    .unrealize = rtc_unrealize,
    .vmsd = &rtc_vmsd,
    .state_offset = offsetof(Rtc, s),
    .post_load = rtc_post_load,
};
