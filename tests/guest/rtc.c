/*
 * The CMOS RTC (MC146818A): the data format follows register B (BCD or binary, 24- or
 * 12-hour) and switching it converts the values read; register D reports valid time; the
 * update-in-progress bit rises before each update; the time advances by exactly one second
 * from one update to the next (the RTC is its own clock here, no other timer is trusted);
 * the date matches the host's: the runner passes hosttime=EPOCH on the command line.
 */
#include "lib/io.h"
#include "lib/cmos.h"
#include "lib/pvh.h"
#include "lib/test.h"

/* How far the RTC may be from the host time handed over on the command line: the runner
 * reads the host clock just before starting the VMM, the guest reads the RTC ~1 s later. */
#define HOST_TIME_SLACK 120

static const uint8_t time_regs[6] = {
    RTC_SECONDS, RTC_MINUTES, RTC_HOURS, RTC_DAY, RTC_MONTH, RTC_YEAR,
};

static void read_regs(uint8_t v[6])
{
    for (int i = 0; i < 6; i++)
        v[i] = cmos_read(time_regs[i]);
}

static bool in_range(const unsigned v[6])
{
    return v[0] < 60 && v[1] < 60 && v[2] < 24 && v[3] >= 1 && v[3] <= 31 && v[4] >= 1 &&
           v[4] <= 12 && v[5] <= 99;
}

/* Reads the registers once in BCD and once in binary (DM flipped in between); retries if a
 * second boundary fell between the two reads. */
static void check_formats(void)
{
    uint8_t b = cmos_read(RTC_REG_B), bcd[6], bin[6];
    test_info("register B = 0x%02x (%s, %s)\n", b, b & RTC_B_DM ? "binary" : "BCD",
              b & RTC_B_24H ? "24-hour" : "12-hour");
    CHECK(cmos_read(RTC_REG_D) & RTC_D_VRT, "register D: valid RAM and time (VRT)");
    unsigned dec[6], raw[6];
    bool valid_bcd = true, same = false;
    for (int tries = 0; tries < 3 && !same; tries++) {
        rtc_wait_not_updating();
        cmos_write(RTC_REG_B, (b & ~RTC_B_DM) | RTC_B_24H);
        read_regs(bcd);
        cmos_write(RTC_REG_B, b | RTC_B_DM | RTC_B_24H);
        read_regs(bin);
        valid_bcd = same = true;
        for (int i = 0; i < 6; i++) {
            valid_bcd &= is_bcd(bcd[i]);
            dec[i] = bcd_to_bin(bcd[i]);
            raw[i] = bin[i];
            same &= dec[i] == raw[i];   /* differs only if an update fell in between */
        }
    }
    cmos_write(RTC_REG_B, b);
    CHECK(valid_bcd && in_range(dec), "BCD mode: %02x-%02x-%02x %02x:%02x:%02x are valid BCD in range",
          bcd[5], bcd[4], bcd[3], bcd[2], bcd[1], bcd[0]);
    CHECK(in_range(raw), "binary mode: %u-%u-%u %u:%u:%u in range", raw[5], raw[4], raw[3],
          raw[2], raw[1], raw[0]);
    CHECK(same, "setting DM converts: BCD and binary readings agree");
}

/* 12-hour mode (register B bit 1 clear): hours 1-12, bit 7 = PM. */
static void check_12h(void)
{
    uint8_t b = cmos_read(RTC_REG_B);
    rtc_wait_not_updating();
    cmos_write(RTC_REG_B, (b | RTC_B_DM | RTC_B_24H));
    uint8_t h24 = cmos_read(RTC_HOURS);
    cmos_write(RTC_REG_B, (b | RTC_B_DM) & ~RTC_B_24H);
    uint8_t h12 = cmos_read(RTC_HOURS);
    cmos_write(RTC_REG_B, b);
    uint8_t expect = (h24 % 12 ? h24 % 12 : 12) | (h24 >= 12 ? 0x80 : 0);
    bool ok = h12 == expect;
    if (!ok && cmos_read(RTC_MINUTES) == 0)     /* the hour may have changed in between */
        ok = true;
    CHECK(ok, "12-hour mode: hour %u reads as 0x%02x (expected 0x%02x)", h24, h12, expect);
}

struct tick {
    struct rtc_time t;
    uint64_t tsc;
    bool uip_seen;
};

/* Waits for the next RTC update.  Register A stays selected, so most polls are a single
 * port read (one VM exit: polls must come often to catch UIP, which is only guaranteed for
 * 244 us before the update).  The update is over when UIP falls; should UIP be missed, a
 * change of the seconds register (looked at every 16 polls) ends the wait as well.  The
 * bound is in polls, not time: a stuck RTC fails through the runner's timeout. */
static bool wait_tick(struct tick *k)
{
    uint8_t s0 = cmos_read(RTC_SECONDS);
    k->uip_seen = false;
    outb(CMOS_INDEX, RTC_REG_A | 0x80);
    for (uint32_t i = 0; i < 400000000u; i++) {
        if (inb(CMOS_DATA) & RTC_A_UIP) {
            k->uip_seen = true;
            continue;
        }
        if (k->uip_seen || ((i & 15) == 15 && cmos_read(RTC_SECONDS) != s0)) {
            k->tsc = rdtsc();
            return rtc_read_time(&k->t);
        }
        if ((i & 15) == 15)
            outb(CMOS_INDEX, RTC_REG_A | 0x80);
    }
    return false;
}

/* Register C's update-ended flag (UF, bit 4) is set by every update whether or not its
 * interrupt is enabled, and stays set until register C is read. */
static void check_uf(void)
{
    struct tick k;
    cmos_read(RTC_REG_C);
    uint8_t c0 = cmos_read(RTC_REG_C);
    bool ok = wait_tick(&k);
    uint8_t c1 = cmos_read(RTC_REG_C), c2 = cmos_read(RTC_REG_C);
    CHECK(ok && !(c0 & 0x10) && (c1 & 0x10) && !(c2 & 0x10),
          "register C: UF set by an update, cleared by reading (0x%02x, 0x%02x, 0x%02x)",
          c0, c1, c2);
}

/* UIP needs fast polling to be seen; up to 8 updates are watched before calling it absent
 * (a busy host can keep a vCPU off the CPU through the whole 244 us window). */
#define UIP_TRIES 8

static void check_ticks(void)
{
    struct rtc_time t0 = { 0 };
    struct tick a, b;
    bool ok = rtc_read_time(&t0);
    CHECK(ok, "time read: %04u-%02u-%02u %02u:%02u:%02u", t0.year, t0.month, t0.day,
          t0.hour, t0.min, t0.sec);
    if (!CHECK(wait_tick(&a) && wait_tick(&b), "the seconds register ticks"))
        return;
    int64_t d = (int64_t)(rtc_to_epoch(&b.t) - rtc_to_epoch(&a.t));
    CHECK(d == 1, "one RTC update later the time is exactly 1 s on (%02u:%02u:%02u -> %02u:%02u:%02u)",
          a.t.hour, a.t.min, a.t.sec, b.t.hour, b.t.min, b.t.sec);
    int64_t d0 = (int64_t)(rtc_to_epoch(&b.t) - rtc_to_epoch(&t0));
    CHECK(d0 >= 1 && d0 <= 3, "two updates took the clock %ld s past the first reading", d0);
    test_info("TSC ran %lu cycles in that second\n", b.tsc - a.tsc);
    unsigned updates = 2;
    bool uip = a.uip_seen || b.uip_seen;
    for (; !uip && updates < UIP_TRIES && wait_tick(&b); updates++)
        uip = b.uip_seen;
    CHECK(uip, "register A showed update-in-progress before an update (%u updates watched)",
          updates);
}

static void check_host_time(void)
{
    uint64_t host = pvh_cmdline_u64("hosttime", 0);
    struct rtc_time t;
    if (!rtc_read_time(&t))
        return;
    uint64_t now = rtc_to_epoch(&t);
    if (!host) {
        test_info("no hosttime= on the command line: checking only that the year is sane\n");
        CHECK(t.year >= 2020 && t.year < 2100, "RTC year %u is plausible", t.year);
        return;
    }
    int64_t diff = (int64_t)(now - host);
    CHECK(diff >= -HOST_TIME_SLACK && diff <= HOST_TIME_SLACK,
          "RTC %lu vs host %lu: %ld s apart (RTC on UTC, as in QEMU's default -rtc base=utc)",
          now, host, diff);
}

int guest_main(void)
{
    test_begin("rtc");
    check_formats();
    check_12h();
    check_ticks();
    check_uf();
    check_host_time();
    test_end();
}
