#include "cmos.h"
#include "io.h"

/* Bit 7 of the index port masks NMI on real hardware; we keep NMIs masked throughout. */
#define CMOS_NMI_OFF 0x80

uint8_t cmos_read(uint8_t reg)
{
    outb(CMOS_INDEX, reg | CMOS_NMI_OFF);
    return inb(CMOS_DATA);
}

void cmos_write(uint8_t reg, uint8_t val)
{
    outb(CMOS_INDEX, reg | CMOS_NMI_OFF);
    outb(CMOS_DATA, val);
}

uint64_t cmos_ram_below_4g(void)
{
    uint64_t units = cmos_read(CMOS_MEM_16M_LO) | (uint64_t)cmos_read(CMOS_MEM_16M_LO + 1) << 8;
    if (units)
        return (16ull << 20) + (units << 16);
    uint64_t kib = cmos_read(CMOS_EXT_MEM_LO) | (uint64_t)cmos_read(CMOS_EXT_MEM_LO + 1) << 8;
    return (1ull << 20) + (kib << 10);
}

uint64_t cmos_ram_above_4g(void)
{
    uint64_t units = cmos_read(CMOS_MEM_4G_LO) | (uint64_t)cmos_read(CMOS_MEM_4G_LO + 1) << 8 |
                     (uint64_t)cmos_read(CMOS_MEM_4G_LO + 2) << 16;
    return units << 16;
}

/* UIP stays set for at most 2 ms (244 us + the update itself); each poll is at least one
 * port exit, so this bound covers it with a wide margin even on a fast host. */
#define RTC_UIP_POLLS 1000000

bool rtc_wait_not_updating(void)
{
    outb(CMOS_INDEX, RTC_REG_A | CMOS_NMI_OFF);
    for (int i = 0; i < RTC_UIP_POLLS; i++)
        if (!(inb(CMOS_DATA) & RTC_A_UIP))
            return true;
    return false;
}

static void rtc_read_raw(uint8_t r[7])
{
    static const uint8_t regs[7] = {
        RTC_SECONDS, RTC_MINUTES, RTC_HOURS, RTC_DAY, RTC_MONTH, RTC_YEAR, RTC_CENTURY,
    };
    for (int i = 0; i < 7; i++)
        r[i] = cmos_read(regs[i]);
}

static unsigned rtc_decode(uint8_t v, bool bcd)
{
    return bcd ? bcd_to_bin(v) : v;
}

bool rtc_read_time(struct rtc_time *t)
{
    uint8_t a[7], b[7];
    int tries = 0;
    do {
        if (!rtc_wait_not_updating() || ++tries > 5)
            return false;
        rtc_read_raw(a);
        rtc_read_raw(b);
    } while (a[0] != b[0] || a[1] != b[1] || a[2] != b[2] || a[3] != b[3] ||
             a[4] != b[4] || a[5] != b[5]);
    uint8_t regb = cmos_read(RTC_REG_B);
    bool bcd = !(regb & RTC_B_DM);
    bool pm = !(regb & RTC_B_24H) && (a[2] & 0x80);
    unsigned hour = rtc_decode(a[2] & 0x7f, bcd);
    if (!(regb & RTC_B_24H))
        hour = (hour % 12) + (pm ? 12 : 0);
    unsigned century = rtc_decode(a[6], bcd);
    if (century < 19 || century > 21)
        century = 20;
    *t = (struct rtc_time){
        .sec = rtc_decode(a[0], bcd), .min = rtc_decode(a[1], bcd), .hour = hour,
        .day = rtc_decode(a[3], bcd), .month = rtc_decode(a[4], bcd),
        .year = century * 100 + rtc_decode(a[5], bcd),
    };
    return true;
}

/* Days from 1970-01-01 to the given civil date (proleptic Gregorian; H. Hinnant's method). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

uint64_t rtc_to_epoch(const struct rtc_time *t)
{
    int64_t days = days_from_civil(t->year, t->month, t->day);
    return (uint64_t)(days * 86400 + t->hour * 3600 + t->min * 60 + t->sec);
}
